//! The external flow: an install that starts on the vendor's side. `GET /install/start` sends the
//! browser to Vercel with a random `state` kept in a single-use cookie; the callback must bring the
//! same `state` back to this browser within ten minutes, or nothing is sent to Vercel.

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::{
    params::{CallbackParams, Source},
    state::AppState,
    store::now_ms,
};

pub const STATE_LIFETIME_MS: i64 = 10 * 60 * 1000;

pub fn state_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tether_state"
    } else {
        "tether_state"
    }
}

#[derive(serde::Deserialize)]
pub struct StartQuery {
    /// `configure`: after Vercel, land on the Configure page (proving ownership) instead of
    /// the install page. Anything else is ignored.
    then: Option<String>,
}

/// Where a successful external-flow callback sends the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Install,
    Configure,
}

pub async fn start(State(state): State<AppState>, Query(query): Query<StartQuery>) -> Response {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let value = hex::encode(bytes);
    let secure = state.settings.secure_cookies();
    let then = if query.then.as_deref() == Some("configure") { ".configure" } else { "" };
    let cookie = format!(
        "{}={value}.{}{then}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state_cookie_name(secure),
        now_ms(),
        STATE_LIFETIME_MS / 1000,
        if secure { "; Secure" } else { "" }
    );
    let mut target = state.settings.vercel.dashboard_url.clone();
    target.set_path(&format!("/integrations/{}/new", state.settings.vercel.integration_slug));
    target.query_pairs_mut().append_pair("state", &value);
    (StatusCode::SEE_OTHER, [(header::LOCATION, target.to_string()), (header::SET_COOKIE, cookie)]).into_response()
}

/// Expires the state cookie: whatever the outcome, a state is good for one callback.
pub fn clear_state_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        state_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the link has no state, though it comes from an install started here")]
    Missing,
    #[error("this browser did not start the installation, or started it too long ago")]
    NoCookie,
    #[error("the state in the link does not match this browser's")]
    Mismatch,
    #[error("the installation was started more than ten minutes ago")]
    Expired,
    #[error("this link was already used")]
    Reused,
}

/// A cookie whose time is not a number is not one Tether set.
impl From<std::num::ParseIntError> for StateError {
    fn from(_: std::num::ParseIntError) -> Self {
        StateError::Mismatch
    }
}

/// What the database keeps of a spent state, beside spent codes.
pub fn state_digest(state: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("state:{state}").as_bytes()))
}

/// Checks the callback's `state` against the cookie. A marketplace or Deploy Button callback
/// carries no state and needs none.
pub fn check_state(query: Option<&str>, source: Source, cookie: Option<&str>, now: i64) -> Result<Then, StateError> {
    let Some(query) = query else {
        return if source == Source::External { Err(StateError::Missing) } else { Ok(Then::Install) };
    };
    let cookie = cookie.ok_or(StateError::NoCookie)?;
    let mut parts = cookie.split('.');
    let (Some(expected), Some(issued), then) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StateError::Mismatch);
    };
    let then = match then {
        None => Then::Install,
        Some("configure") => Then::Configure,
        Some(_) => return Err(StateError::Mismatch),
    };
    let issued: i64 = issued.parse()?;
    if !bool::from(expected.as_bytes().ct_eq(query.as_bytes())) || expected.len() != 32 {
        return Err(StateError::Mismatch);
    }
    if now - issued > STATE_LIFETIME_MS || issued > now + 60_000 {
        return Err(StateError::Expired);
    }
    Ok(then)
}

/// The whole check for a callback: the state against this browser's cookie, then claimed like a
/// code, since the cookie is cleared on use but a copied cookie must not work twice either.
pub async fn verify(state: &AppState, params: &CallbackParams, cookie: Option<&str>) -> Result<Then, StateError> {
    let then = check_state(params.state.as_deref(), params.source, cookie, now_ms())?;
    let Some(value) = &params.state else { return Ok(then) };
    match state.spend_once(&state_digest(value), &params.configuration_id).await {
        Ok(true) => Ok(then),
        Ok(false) => Err(StateError::Reused),
        Err(error) => {
            // Refusing is the safe answer; the page offers to start again.
            tracing::error!(%error, "cannot record the state");
            Err(StateError::Reused)
        }
    }
}

/// The state cookie's value from the request, if present.
pub fn state_cookie(headers: &axum::http::HeaderMap, secure: bool) -> Option<String> {
    crate::web::cookie(headers, state_cookie_name(secure)).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "0123456789abcdef0123456789abcdef";

    fn cookie(issued: i64) -> String {
        format!("{STATE}.{issued}")
    }

    #[test]
    fn a_matching_fresh_state_passes() {
        assert_eq!(check_state(Some(STATE), Source::External, Some(&cookie(1_000)), 2_000), Ok(Then::Install));
        let configure = format!("{}.configure", cookie(1_000));
        assert_eq!(check_state(Some(STATE), Source::External, Some(&configure), 2_000), Ok(Then::Configure));
        let odd = format!("{}.elsewhere", cookie(1_000));
        assert_eq!(check_state(Some(STATE), Source::External, Some(&odd), 2_000), Err(StateError::Mismatch));
    }

    #[test]
    fn marketplace_callbacks_need_no_state() {
        assert_eq!(check_state(None, Source::Marketplace, None, 0), Ok(Then::Install));
        assert_eq!(check_state(None, Source::DeployButton, Some(&cookie(0)), 0), Ok(Then::Install));
    }

    #[test]
    fn every_bad_state_is_refused() {
        let now = 10 * STATE_LIFETIME_MS;
        let fresh = cookie(now - 1_000);
        let altered = STATE.replace('0', "1");
        assert_eq!(check_state(None, Source::External, Some(&fresh), now), Err(StateError::Missing));
        assert_eq!(check_state(Some(STATE), Source::External, None, now), Err(StateError::NoCookie));
        assert_eq!(check_state(Some(&altered), Source::External, Some(&fresh), now), Err(StateError::Mismatch));
        assert_eq!(check_state(Some("short"), Source::External, Some("short.1"), now), Err(StateError::Mismatch));
        assert_eq!(check_state(Some(STATE), Source::External, Some(STATE), now), Err(StateError::Mismatch));
        let old = cookie(now - STATE_LIFETIME_MS - 1);
        assert_eq!(check_state(Some(STATE), Source::External, Some(&old), now), Err(StateError::Expired));
        // A state with no `source` still counts as the external flow.
        assert_eq!(check_state(Some(STATE), Source::Marketplace, None, now), Err(StateError::NoCookie));
    }
}
