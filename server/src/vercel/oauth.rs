//! Exchanging the callback's code for an installation token. Sent once, never retried: a code
//! is single-use, so a second attempt could only fail or, worse, race the first.

use std::time::Duration;

use serde::Deserialize;

use super::{Vercel, VercelError};
use crate::{params::AuthCode, secret::AccessToken};

const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(8);

pub struct TokenGrant {
    pub access_token: AccessToken,
    pub installation_id: String,
    pub user_id: String,
    pub team_id: Option<String>,
}

#[derive(Deserialize)]
struct Raw {
    access_token: String,
    installation_id: String,
    user_id: String,
    team_id: Option<String>,
}

impl Vercel {
    pub async fn exchange_code(&self, code: &AuthCode) -> Result<TokenGrant, VercelError> {
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("code", code.expose()),
            ("redirect_uri", self.redirect_url.as_str()),
        ];
        let response = self
            .http
            .post(self.url("/v2/oauth/access_token"))
            .form(&form)
            // A lost answer must surface quickly: the user can only restart the installation.
            .timeout(EXCHANGE_TIMEOUT)
            .send()
            .await
            .map_err(|e| VercelError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| VercelError::Unreachable(e.without_url().to_string()))?;
        if status.is_success() {
            let raw: Raw = serde_json::from_str(&text).map_err(|e| VercelError::Decode(e.to_string()))?;
            return Ok(TokenGrant {
                access_token: AccessToken::new(raw.access_token),
                installation_id: raw.installation_id,
                user_id: raw.user_id,
                team_id: raw.team_id,
            });
        }
        // Both shapes are seen: OAuth's `{"error":"invalid_grant"}` and Vercel's `{"error":{"code":…}}`.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let code = value["error"].as_str().or_else(|| value["error"]["code"].as_str()).unwrap_or_default().to_owned();
        let message = value["error_description"]
            .as_str()
            .or_else(|| value["error"]["message"].as_str())
            .unwrap_or_default()
            .to_owned();
        if code == "invalid_grant" || message.to_ascii_lowercase().contains("invalid grant") {
            return Err(VercelError::InvalidGrant);
        }
        Err(VercelError::Api { status: status.as_u16(), code, message })
    }
}
