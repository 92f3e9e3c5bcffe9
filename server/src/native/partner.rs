//! The Partner API's door: every call carries Vercel's token (`Authorization: Bearer`), and the
//! installation it names in its path must be the token's own. Refusals have Vercel's documented
//! error shape, `{"error":{"code","message"}}`: 401 for a token that is missing or does not
//! verify, 403 for one that is Vercel's but for another installation (or a user whose role
//! may only read), 400 `validation_error` with the `fields` at fault, 404, 409 `conflict`.

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::vercel::oidc::{Claims, Role, TokenType};
use crate::{params::ConfigurationId, state::AppState, store::installations::InstallationStatus};

/// The path's placeholder before an installation exists: Vercel lists plans for a new install
/// with a token that already names the installation to come (native-protocol.md 1.2).
pub const NEW_INSTALLATION: &str = "new";

#[derive(Debug)]
pub enum Refusal {
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    /// The request's fields, each with what is wrong with it.
    Invalid {
        message: String,
        fields: Vec<(String, String)>,
    },
    Conflict(String),
    /// The vendor's system did not answer: nothing is lost, and Vercel retries a 5xx with the
    /// same Idempotency-Key.
    Unavailable(String),
    /// Tether's own storage failed.
    Internal,
}

impl Refusal {
    /// One field at fault.
    pub fn field(key: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Refusal::Invalid { message: format!("{key}: {message}"), fields: vec![(key.to_owned(), message)] }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Refusal::Unauthorized(why) => (StatusCode::UNAUTHORIZED, "unauthorized", why),
            Refusal::Forbidden(why) => (StatusCode::FORBIDDEN, "forbidden", why),
            Refusal::NotFound(why) => (StatusCode::NOT_FOUND, "not_found", why),
            Refusal::Conflict(why) => (StatusCode::CONFLICT, "conflict", why),
            Refusal::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", why),
            Refusal::Internal => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Tether could not do this now; try again".into())
            }
            Refusal::Invalid { message, fields } => {
                let fields: Vec<_> =
                    fields.iter().map(|(key, message)| json!({"key": key, "message": message})).collect();
                let body = json!({"error": {"code": "validation_error", "message": message, "fields": fields}});
                return (StatusCode::BAD_REQUEST, Json(body)).into_response();
            }
        };
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}

/// Tether's storage failed under a Partner call: Vercel hears a 500 and retries; the operator
/// reads why.
impl From<crate::store::StoreError> for Refusal {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "a Partner API call could not reach the database");
        Refusal::Internal
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        crate::store::StoreError::from(error).into()
    }
}

/// A call about one installation: the path's id, parsed, and the token's claims for it.
pub struct Call {
    pub installation: ConfigurationId,
    pub claims: Claims,
}

impl Call {
    /// A call that only reads: any user of the team, or Vercel's system.
    pub async fn reader(state: &AppState, headers: &HeaderMap, installation: &str) -> Result<Self, Refusal> {
        let claims = caller(state, headers, Some(installation)).await?;
        let installation = ConfigurationId::parse(installation)
            .map_err(|_| Refusal::NotFound("no installation has this id".into()))?;
        Ok(Self { installation, claims })
    }

    /// A call that changes something: Vercel's system, or a user with the `ADMIN` role (`USER`
    /// is Vercel's billing and viewer roles, which only read).
    pub async fn admin(state: &AppState, headers: &HeaderMap, installation: &str) -> Result<Self, Refusal> {
        let call = Self::reader(state, headers, installation).await?;
        match call.claims.user() {
            Some((user, Role::User)) => {
                tracing::info!(
                    security_event = "partner_call_needs_admin",
                    user,
                    "a read-only user tried to change an installation"
                );
                Err(Refusal::Forbidden("only a team's admin may do this".into()))
            }
            _ => Ok(call),
        }
    }

    /// The installation the call names, live, and the vendor account it acts for: 404 for one
    /// never installed natively, and for one removed.
    pub async fn live_owner(&self, state: &AppState) -> Result<String, Refusal> {
        match state.store.native_installation(&self.installation).await? {
            Some(row) if row.status == InstallationStatus::Active => Ok(row.owner_id().to_owned()),
            _ => Err(Refusal::NotFound("no such installation".into())),
        }
    }

    /// Who acted, for the record: the user, or Vercel's system.
    pub fn actor(&self) -> &str {
        self.claims.user().map_or("system", |(user, _)| user)
    }
}

/// A Partner call's answer: its status with a JSON body (none with 204), or the refusal in
/// Vercel's error shape.
pub fn answer(result: Result<(StatusCode, serde_json::Value), Refusal>) -> Response {
    match result {
        Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

/// The body of a Partner call, parsed as JSON (an empty body is `{}`).
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if value.is_object() => Ok(value),
        _ => Err(Refusal::Invalid { message: "the body is not a JSON object".into(), fields: Vec::new() }),
    }
}

/// Vercel's `Idempotency-Key` on a mutating call: up to 256 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    match value.to_str() {
        Ok(key) if (1..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Refusal::field("Idempotency-Key", "must be 1 to 256 visible ASCII characters")),
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
    // `X-Vercel-Auth` says which kind of token Vercel sent: a call that says `user` must carry a
    // user, so a system token is never taken for a user's act. Without the header, the token
    // alone decides.
    let says_user = headers.get("x-vercel-auth").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"user"));
    if says_user && claims.user().is_none() {
        return Err(Refusal::Unauthorized("`X-Vercel-Auth: user` with a token that names no user".into()));
    }
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
