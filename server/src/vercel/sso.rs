//! The SSO code exchange of native integrations: `POST /v1/integrations/sso/token` with the
//! integration's client id and secret, answering Vercel's `id_token` for the user who pressed
//! "Open in …". Sent once, never retried: like the popup's code, an SSO code is single-use.

use serde::Deserialize;

use super::{Vercel, VercelError};
use crate::{params::AuthCode, secret::IdToken};

/// The answer's field Tether reads: `access_token` and `token_type` may be null, and nothing
/// else than the `id_token` is used.
#[derive(Deserialize)]
struct Raw {
    id_token: String,
}

impl Vercel {
    pub async fn exchange_sso_code(&self, code: &AuthCode, state: Option<&str>) -> Result<IdToken, VercelError> {
        // JSON, as Vercel's reference documents the request; no `redirect_uri`: it is optional,
        // and Vercel's own example stopped sending it.
        let mut body = serde_json::json!({
            "code": code.expose(),
            "client_id": self.client_id,
            "client_secret": self.client_secret.expose(),
            "grant_type": "authorization_code",
        });
        if let Some(state) = state {
            body["state"] = serde_json::Value::from(state);
        }
        let request = self.http.post(self.url(&["v1", "integrations", "sso", "token"])).json(&body);
        let raw: Raw = self.exchange_once("POST /v1/integrations/sso/token", request).await?;
        Ok(IdToken::new(raw.id_token))
    }
}
