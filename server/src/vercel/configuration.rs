//! The installation itself, as Vercel holds it: reading it proves which installation a token
//! belongs to, and deleting it is the vendor-side uninstall.

use reqwest::Method;
use serde::Deserialize;

use super::{Installation, VercelError};

/// What Tether reads of `GET /v1/integrations/configuration/{id}`; Vercel sends much more.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    pub id: String,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl Installation {
    /// The installation this token may read under this id. Vercel answers 404 (or 403) for an id
    /// that is not the token's own, so an answer naming `configuration_id` proves the token is
    /// that installation's.
    pub async fn configuration(&self, configuration_id: &str) -> Result<Configuration, VercelError> {
        self.get(&["v1", "integrations", "configuration", configuration_id], &[]).await
    }

    /// Uninstalls the integration from the vendor's side; Vercel removes the env vars it created.
    pub async fn uninstall(&self, configuration_id: &str) -> Result<(), VercelError> {
        let segments = ["v1", "integrations", "configuration", configuration_id];
        match self.call::<serde::de::IgnoredAny>(Method::DELETE, &segments, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
