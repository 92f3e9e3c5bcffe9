//! Exchanging the callback's code for an installation token. Sent once, never retried: a code
//! is single-use, so a second attempt could only fail or, worse, race the first.

use std::time::Duration;

use serde::{de::DeserializeOwned, Deserialize};

use super::{read_capped, ErrorInfo, Vercel, VercelError};
use crate::{params::AuthCode, secret::AccessToken};

const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub struct TokenGrant {
    pub access_token: AccessToken,
    /// The installation the token belongs to; when an answer leaves it out, the callback's
    /// `configurationId` is the only word on it.
    pub installation_id: Option<String>,
    /// Absent in some answers; the installation still has an owner through its team.
    pub user_id: Option<String>,
    pub team_id: Option<String>,
}

/// The answer's fields Tether reads; any others Vercel adds are ignored.
#[derive(Deserialize)]
struct Raw {
    access_token: String,
    #[serde(default)]
    installation_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
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
        let request = self.http.post(self.url(&["v2", "oauth", "access_token"])).form(&form);
        let raw: Raw = self.exchange_once("POST /v2/oauth/access_token", request).await?;
        let present = |value: Option<String>| value.filter(|v| !v.is_empty());
        Ok(TokenGrant {
            access_token: AccessToken::new(raw.access_token),
            installation_id: present(raw.installation_id),
            user_id: present(raw.user_id),
            team_id: present(raw.team_id),
        })
    }

    /// Sends an exchange of a single-use code (this one, or SSO's) once: a redirect is never
    /// followed, since the body carries the client secret; a lost answer surfaces quickly, since
    /// the user can only start again; a refusal is told by its words.
    pub(super) async fn exchange_once<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, VercelError> {
        let response = crate::telemetry::send_to_vercel(endpoint, request.timeout(EXCHANGE_TIMEOUT)).await?;
        let status = response.status();
        if status.is_redirection() {
            return Err(VercelError::Redirected(status.as_u16()));
        }
        let body = read_capped(response, MAX_ANSWER_BYTES).await?;
        if status.is_success() {
            return Ok(serde_json::from_slice(&body)?);
        }
        Err(self.refusal(status.as_u16(), ErrorInfo::parse(&body)))
    }

    /// Why Vercel refused an exchange, whichever of its two error shapes it used.
    fn refusal(&self, status: u16, info: ErrorInfo) -> VercelError {
        let words = format!("{} {}", info.code, info.message).to_ascii_lowercase();
        if words.contains("redirect_uri") || words.contains("redirect uri") || words.contains("redirect_url") {
            return VercelError::RedirectMismatch { sent: self.redirect_url.clone() };
        }
        if info.code == "invalid_grant" || words.contains("invalid grant") {
            return VercelError::InvalidGrant;
        }
        if info.code == "invalid_client" || status == 401 {
            return VercelError::InvalidClient;
        }
        VercelError::Api { status, code: info.code, message: info.message }
    }
}
