//! What a native installation says to Vercel and reads from it, with the installation's token:
//! its team and members (`GET /v1/installations/{id}/account`, `.../member/{memberId}`), which
//! the vendor hears in notices so it never has to trust who happened to install; and a
//! resource's new secrets (`PUT .../resources/{rid}/secrets`); and what the vendor says of its
//! resources and the installation (`PATCH .../resources/{rid}`, `PUT .../resources/{rid}` for
//! one brought in, `PATCH /v1/installations/{id}`).

use serde::Deserialize;
use serde_json::Value;

use super::{Installation, VercelError};
use crate::params::ConfigurationId;

/// A member as Vercel answers: the fields Tether passes on; Vercel sends more.
#[derive(Debug, Clone, Deserialize)]
pub struct MemberAnswer {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Installation {
    /// The team's name, URL and contact, as Vercel answers them (kept and passed on whole).
    pub async fn native_account(&self, configuration_id: &ConfigurationId) -> Result<Value, VercelError> {
        let account: Value = self.get(&["v1", "installations", configuration_id.as_str(), "account"], &[]).await?;
        match account.get("name").and_then(Value::as_str) {
            Some(_) => Ok(account),
            None => Err(VercelError::Decode("the account answer has no `name`".into())),
        }
    }

    /// Replaces a resource's secrets at Vercel, which writes them into every project the
    /// resource is connected to (`PUT /v1/installations/{id}/resources/{rid}/secrets`).
    pub async fn replace_secrets(
        &self,
        configuration_id: &ConfigurationId,
        resource_id: &str,
        secrets: &[Value],
    ) -> Result<(), VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str(), "resources", resource_id, "secrets"];
        let body = serde_json::json!({ "secrets": secrets });
        self.call::<serde::de::IgnoredAny>(reqwest::Method::PUT, &segments, &[], Some(&body)).await.map(|_| ())
    }

    /// A member of the team, or `None` when Vercel no longer knows them there.
    pub async fn native_member(
        &self,
        configuration_id: &ConfigurationId,
        member_id: &str,
    ) -> Result<Option<MemberAnswer>, VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str(), "member", member_id];
        match self.get(&segments, &[]).await {
            Ok(member) => Ok(Some(member)),
            Err(VercelError::Api { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Tells Vercel of a resource: its status and notification (`PATCH .../resources/{rid}`),
    /// or the whole of one the vendor brought in, with its secrets (`PUT .../resources/{rid}`:
    /// the same body again changes nothing).
    pub async fn send_resource(
        &self,
        method: reqwest::Method,
        configuration_id: &ConfigurationId,
        resource_id: &str,
        body: &Value,
    ) -> Result<(), VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str(), "resources", resource_id];
        self.call::<serde::de::IgnoredAny>(method, &segments, &[], Some(body)).await.map(|_| ())
    }

    /// Removes a resource from the installation at Vercel (`DELETE .../resources/{rid}`); one
    /// Vercel no longer has counts as removed.
    pub async fn remove_resource(
        &self,
        configuration_id: &ConfigurationId,
        resource_id: &str,
    ) -> Result<(), VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str(), "resources", resource_id];
        match self.call::<serde::de::IgnoredAny>(reqwest::Method::DELETE, &segments, &[], None).await {
            Ok(_) | Err(VercelError::Api { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Tells Vercel to read something again (`POST /v1/installations/{id}/events`).
    pub async fn send_event(&self, configuration_id: &ConfigurationId, event: &Value) -> Result<(), VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str(), "events"];
        self.call::<serde::de::IgnoredAny>(reqwest::Method::POST, &segments, &[], Some(event)).await.map(|_| ())
    }

    /// Sets or clears (`null`) the installation's notification (`PATCH /v1/installations/{id}`).
    pub async fn update_installation(
        &self,
        configuration_id: &ConfigurationId,
        body: &Value,
    ) -> Result<(), VercelError> {
        let segments = ["v1", "installations", configuration_id.as_str()];
        self.call::<serde::de::IgnoredAny>(reqwest::Method::PATCH, &segments, &[], Some(body)).await.map(|_| ())
    }
}
