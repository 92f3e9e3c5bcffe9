//! `GET /callback`: parse everything, spend the code exactly once, check the identity Vercel
//! returns, store the installation with its sealed token, start a session, and move the browser
//! to `/install/{configurationId}` so the code leaves the address bar and history.

use axum::{
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::start;
use crate::{
    ops::install::{Claim, Identity},
    params::{CallbackParams, NextUrl},
    state::AppState,
    store::StoreError,
    telemetry,
    vercel::{oauth::TokenGrant, VercelError, REQUEST_BUDGET},
    web::{self, Failure},
};

pub async fn callback(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    // A native integration whose Redirect Login URL is this address: single sign-on, not an install.
    let sso = url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .any(|(key, value)| key == "mode" && value == "sso");
    if sso {
        return crate::native::sso::sign_in(State(state), RawQuery(query)).await;
    }
    let secure = state.settings.secure_cookies();
    let state_cookie = start::state_cookie(&headers, secure);
    let mut response = handle(&state, &headers, state_cookie.as_deref(), query.unwrap_or_default()).await;
    if state_cookie.is_some() {
        // Single use: whatever happened, this browser's state is spent.
        if let Ok(clear) = HeaderValue::from_str(&start::clear_state_cookie(secure)) {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
    }
    response
}

async fn handle(state: &AppState, headers: &HeaderMap, state_cookie: Option<&str>, query: String) -> Response {
    let allowed = &state.settings.vercel.next_origin;
    let params = match CallbackParams::parse(&query, allowed) {
        Ok(params) => params,
        Err(error) => {
            tracing::info!(%error, "callback refused");
            telemetry::install("unknown", "failed", "invalid_link");
            let next = CallbackParams::next_only(&query, allowed);
            return Refusal::Invalid(error.to_string()).render(state, next.as_ref()).await;
        }
    };
    telemetry::record_installation(&params.configuration_id);
    let flow = params.source.as_str();
    match accept(state, headers, &params, state_cookie).await {
        Ok((then, session_id)) => {
            telemetry::install(flow, "started", "");
            let configuration_id = params.configuration_id.as_str();
            let location = match then {
                start::Then::Install => format!("/install/{configuration_id}"),
                start::Then::Configure => format!("/configure?configurationId={configuration_id}"),
            };
            let cookie = web::session_cookie(state.settings.secure_cookies(), &session_id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::SET_COOKIE, cookie)]).into_response()
        }
        Err(refusal) => {
            telemetry::install(flow, "failed", refusal.reason());
            refusal.render(state, Some(&params.next)).await
        }
    }
}

/// Checks, spends the code, exchanges it and stores the installation with a new session, whose
/// id it returns with where the browser goes next.
async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    params: &CallbackParams,
    state_cookie: Option<&str>,
) -> Result<(start::Then, String), Refusal> {
    let configuration_id = params.configuration_id.as_str();
    // Before anything reaches Vercel: an external-flow callback must come back to the browser
    // that started it, with its state, in time.
    let then = start::verify(state, params, state_cookie).await.map_err(|error| {
        tracing::warn!(security_event = "state_rejected", %error, configuration_id, "callback refused");
        Refusal::State(error)
    })?;
    match state.claim_callback(&params.code, &params.configuration_id).await? {
        Claim::Fresh => {}
        Claim::Removed => return Err(Refusal::Removed),
        Claim::Spent => {
            tracing::info!(configuration_id, "a used callback was replayed");
            let caller = web::Caller::of(headers, state.settings.secure_cookies());
            let mine = state.authorize(&caller, configuration_id).await.is_ok();
            return Err(Refusal::Replayed { continue_to: mine.then(|| format!("/install/{configuration_id}")) });
        }
    }
    let grant = state.vercel.exchange_code(&params.code).await?;
    // Vercel's answer, not the query string, says which installation and scope this is. An
    // answer without `installation_id` proves nothing about the query's `configurationId`
    // (anyone can put another installation's id into their own install link), so the token
    // must then prove it by reading that installation at Vercel.
    let answer = match grant.installation_id.as_deref() {
        Some(installation_id) => VercelAnswer {
            installation_id: installation_id.to_owned(),
            team_id: grant.team_id.clone(),
            user_id: grant.user_id.clone(),
        },
        None => prove_installation(state, &grant, params).await?,
    };
    let Some(identity) = agreed_identity(&answer, params) else {
        tracing::warn!(
            security_event = "callback_identity_mismatch",
            query_configuration_id = configuration_id,
            vercel_installation_id = answer.installation_id,
            query_team_id = params.team_id.as_ref().map(|t| t.as_str()),
            vercel_team_id = answer.team_id.as_deref(),
            "the callback's parameters disagree with Vercel's answer"
        );
        return Err(Refusal::Mismatch);
    };
    let Some(session_id) = state.keep_installation(params, &identity, &grant.access_token).await? else {
        // Vercel's removal webhook won the race with this callback.
        return Err(Refusal::Removed);
    };
    tracing::info!(
        configuration_id,
        source = params.source.as_str(),
        team = identity.team_id.is_some(),
        "installation stored"
    );
    Ok((then, session_id))
}

/// Why a callback did not become an installation. Each knows its page, and every page offers
/// a way on.
enum Refusal {
    /// The address is incomplete or altered.
    Invalid(String),
    /// An external-flow callback without this browser's state.
    State(start::StateError),
    /// Vercel removed this installation; it does not come back.
    Removed,
    /// The code was spent already; the owner's browser may continue.
    Replayed { continue_to: Option<String> },
    /// Tether's own store failed: nothing was decided.
    Store,
    /// Vercel would not exchange the code.
    Exchange(VercelError),
    /// The query and Vercel's token answer name different installations or scopes.
    Mismatch,
    /// The token answer named no installation, and the token could not read the one the query
    /// named: someone else's id in an install link.
    Unproven,
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "the callback could not use the store");
        Refusal::Store
    }
}

impl From<VercelError> for Refusal {
    fn from(error: VercelError) -> Self {
        Refusal::Exchange(error)
    }
}

impl Refusal {
    /// Why, as a metrics label.
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) => "invalid_link",
            Refusal::State(_) => "state_mismatch",
            Refusal::Removed => "removed",
            Refusal::Replayed { .. } => "code_used",
            Refusal::Store => "store",
            Refusal::Exchange(VercelError::InvalidGrant) => "code_expired",
            Refusal::Exchange(VercelError::RedirectMismatch { .. }) => "redirect_mismatch",
            Refusal::Exchange(VercelError::InvalidClient) => "invalid_client",
            Refusal::Exchange(VercelError::Unreachable(_)) => "vercel_unreachable",
            Refusal::Exchange(VercelError::RateLimited | VercelError::Busy { .. }) => "rate_limited",
            Refusal::Exchange(_) => "exchange",
            Refusal::Mismatch => "identity_mismatch",
            Refusal::Unproven => "installation_unproven",
        }
    }

    async fn render(self, state: &AppState, next: Option<&NextUrl>) -> Response {
        let failure = match self {
            Refusal::Invalid(detail) => Failure::InvalidLink { detail },
            Refusal::State(error) => Failure::StateMismatch { detail: error.to_string() },
            Refusal::Removed => {
                tracing::info!(
                    security_event = "callback_for_removed_installation",
                    "a callback named a removed installation"
                );
                Failure::Removed
            }
            Refusal::Replayed { continue_to } => Failure::CodeUsed { continue_to },
            Refusal::Store => Failure::StoreDown,
            Refusal::Exchange(error) => exchange_failure(error),
            Refusal::Mismatch => Failure::IdentityMismatch,
            Refusal::Unproven => Failure::InstallationUnproven,
        };
        // A callback is never retried as it was: its code is spent or refused.
        web::failure(state, &failure, next.map(NextUrl::as_str), None).await
    }
}

fn exchange_failure(error: VercelError) -> Failure {
    match error {
        VercelError::InvalidGrant => Failure::CodeExpired,
        VercelError::RedirectMismatch { sent } => {
            tracing::error!(
                redirect_uri_sent = %sent,
                "Vercel refused the redirect_uri: the integration's Redirect URL at Vercel must be exactly this value"
            );
            Failure::RedirectMismatch { sent }
        }
        VercelError::InvalidClient => {
            tracing::error!(
                "Vercel refused the client id or secret: check TETHER_VERCEL_CLIENT_ID and TETHER_VERCEL_CLIENT_SECRET"
            );
            Failure::InvalidClient
        }
        VercelError::RateLimited | VercelError::Busy { .. } => {
            tracing::warn!(%error, "code exchange rate limited");
            Failure::RateLimited { wait_secs: 60 }
        }
        error => {
            tracing::warn!(%error, "code exchange failed");
            Failure::VercelUnreachable { during_exchange: true }
        }
    }
}

/// Reads the installation the query names with the new token. Vercel answers it only for the
/// token's own installation, so anything but an answer naming that id refuses the install: no
/// row is written or overwritten, and no session is given.
async fn prove_installation(
    state: &AppState,
    grant: &TokenGrant,
    params: &CallbackParams,
) -> Result<VercelAnswer, Refusal> {
    let configuration_id = params.configuration_id.as_str();
    let team_id = grant.team_id.clone().or_else(|| params.team_id.as_ref().map(|t| t.as_str().to_owned()));
    let vercel = state.vercel.as_installation(grant.access_token.clone(), team_id).with_budget(REQUEST_BUDGET);
    let unproven = |vercel_said: &str| {
        tracing::warn!(
            security_event = "callback_installation_unproven",
            query_configuration_id = configuration_id,
            vercel_said,
            "the token answer named no installation and the token could not read the one the callback named"
        );
        Refusal::Unproven
    };
    match vercel.configuration(&params.configuration_id).await {
        Ok(found) if found.id == configuration_id => {
            let present = |value: Option<String>| value.filter(|v| !v.is_empty());
            Ok(VercelAnswer {
                installation_id: found.id,
                team_id: present(found.team_id).or_else(|| grant.team_id.clone()),
                user_id: present(found.user_id).or_else(|| grant.user_id.clone()),
            })
        }
        Ok(found) => Err(unproven(&format!("it belongs to {}", found.id))),
        // Vercel did not answer: nothing is proven either way, and the code is spent.
        Err(error @ (VercelError::Unreachable(_) | VercelError::Busy { .. } | VercelError::RateLimited)) => {
            Err(Refusal::Exchange(error))
        }
        Err(VercelError::Api { status, .. }) if status >= 500 => {
            Err(Refusal::Exchange(VercelError::Unreachable(format!("Vercel answered {status}"))))
        }
        Err(error) => Err(unproven(&error.to_string())),
    }
}

/// Which installation and scope Vercel says a token belongs to: its token answer, or the
/// installation the token read.
struct VercelAnswer {
    installation_id: String,
    team_id: Option<String>,
    user_id: Option<String>,
}

/// Vercel's answer is trusted and wins; the query only fills in what the answer leaves out
/// (a Hobby team's answer may omit its `team_id`, a personal scope that is a team may arrive
/// without `teamId`). Only a real disagreement, both present and different, is refused, and an
/// answer that names no owner at all.
fn agreed_identity(answer: &VercelAnswer, params: &CallbackParams) -> Option<Identity> {
    if answer.installation_id != params.configuration_id.as_str() {
        return None;
    }
    let query_team = params.team_id.as_ref().map(|t| t.as_str().to_owned());
    let team_id = match (answer.team_id.clone(), query_team) {
        (Some(vercel), Some(query)) if vercel != query => return None,
        (vercel, query) => vercel.or(query),
    };
    let user_id = answer.user_id.clone().unwrap_or_default();
    if team_id.is_none() && user_id.is_empty() {
        return None;
    }
    Some(Identity { team_id, user_id })
}
