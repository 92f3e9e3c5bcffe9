//! The Partner API's door: every call carries Vercel's token (`Authorization: Bearer`), and the
//! installation it names in its path must be the token's own. Refusals have Vercel's documented
//! error shape, `{"error":{"code","message"}}`: 401 for a token that is missing or does not
//! verify, 403 for one that is Vercel's but for another installation.

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::oidc::{Claims, TokenType};
use crate::state::AppState;

/// The path's placeholder before an installation exists: Vercel lists plans for a new install
/// with a token that already names the installation to come (native-protocol.md 1.2).
pub const NEW_INSTALLATION: &str = "new";

#[derive(Debug)]
pub enum Refusal {
    Unauthorized(String),
    Forbidden(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Refusal::Unauthorized(why) => (StatusCode::UNAUTHORIZED, "unauthorized", why),
            Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why),
        };
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}

/// The call's verified claims. `installation` is the path's installation id, when the route has
/// one: the token must be for it, except for [`NEW_INSTALLATION`].
pub async fn caller(state: &AppState, headers: &HeaderMap, installation: Option<&str>) -> Result<Claims, Refusal> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| Refusal::Unauthorized("Vercel's token is missing".into()))?;
    let claims = state.partner_tokens.verify(bearer.trim(), TokenType::Access).await.map_err(|error| {
        tracing::info!(security_event = "partner_token_refused", %error, "a Partner API call was refused");
        Refusal::Unauthorized("the token is not Vercel's, or not for this integration".into())
    })?;
    match installation {
        Some(id) if id != NEW_INSTALLATION && claims.installation_id.as_deref() != Some(id) => {
            tracing::warn!(
                security_event = "partner_token_for_another_installation",
                path_installation = id,
                token_installation = claims.installation_id.as_deref(),
                "a Partner API call named another installation than its token"
            );
            Err(Refusal::Forbidden("the token is for another installation".into()))
        }
        _ => Ok(claims),
    }
}
