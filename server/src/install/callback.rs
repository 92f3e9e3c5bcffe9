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
    params::{CallbackParams, NextUrl},
    state::AppState,
    store::{
        installations::{token_binding, NewInstallation},
        sessions::NewSession,
    },
    vercel::{oauth::TokenGrant, VercelError},
    web::{self, action, error_view},
};

pub async fn callback(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
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
            let next = CallbackParams::next_only(&query, allowed);
            return fail(
                state,
                StatusCode::BAD_REQUEST,
                "This link is not valid",
                &format!(
                "The address Vercel opened is incomplete or altered: {error}. Start the installation again from Vercel."
            ),
                next.as_ref(),
            )
            .await;
        }
    };
    let configuration_id = params.configuration_id.as_str();

    // Before anything reaches Vercel: an external-flow callback must come back to the browser
    // that started it, with its state, in time.
    let checked = start::verify(&state.store, &params, state_cookie).await;
    let then = match checked {
        Ok(then) => then,
        Err(error) => {
            tracing::warn!(security_event = "state_rejected", %error, configuration_id, "callback refused");
            let page = error_view(
                StatusCode::BAD_REQUEST,
                "This installation link is not valid here",
                format!("Tether refused it because {error}. Nothing was sent to Vercel. Start the installation again."),
                vec![action("Start again", "/install/start"), action("Return to Vercel", params.next.as_str())],
            );
            return web::render(state, StatusCode::BAD_REQUEST, page).await;
        }
    };

    // Removal is final: Vercel never reuses an id, so a callback for a removed installation
    // gets no exchange, no row and no session.
    match state.store.is_removed(configuration_id).await {
        Ok(false) => {}
        Ok(true) => return removed(state, &params.next).await,
        Err(error) => {
            tracing::error!(%error, "cannot read the tombstones");
            return try_again(
                state,
                "Tether could not check this installation. Return to Vercel and install again.",
                &params.next,
            )
            .await;
        }
    }

    match state.store.claim_code(&params.code.digest(), configuration_id).await {
        Ok(true) => {}
        Ok(false) => return replayed(state, headers, &params).await,
        Err(error) => {
            tracing::error!(%error, "cannot record the code");
            return try_again(
                state,
                "Tether could not save your installation. Reload this page in a moment.",
                &params.next,
            )
            .await;
        }
    }

    let grant = match state.vercel.exchange_code(&params.code).await {
        Ok(grant) => grant,
        Err(VercelError::InvalidGrant) => {
            return fail(state, StatusCode::BAD_REQUEST, "This installation link has expired",
                "Vercel no longer accepts this link's code: it was used already or is over 30 minutes old. Return to Vercel and install again.",
                Some(&params.next)).await;
        }
        Err(VercelError::RedirectMismatch { sent }) => {
            tracing::error!(
                redirect_uri_sent = %sent,
                "Vercel refused the redirect_uri: the integration's Redirect URL at Vercel must be exactly this value"
            );
            let message = format!(
                "Vercel refused the installation because the integration's Redirect URL does not match this server. \
                 The integration's owner must set the Redirect URL in Vercel's Integration Console to exactly \
                 {sent} (or set TETHER_PUBLIC_URL to the address registered there). Then install again."
            );
            return fail(
                state,
                StatusCode::BAD_GATEWAY,
                "The integration's Redirect URL does not match",
                &message,
                Some(&params.next),
            )
            .await;
        }
        Err(VercelError::InvalidClient) => {
            tracing::error!(
                "Vercel refused the client id or secret: check TETHER_VERCEL_CLIENT_ID and TETHER_VERCEL_CLIENT_SECRET"
            );
            return fail(state, StatusCode::BAD_GATEWAY, "The integration is misconfigured",
                "Vercel did not accept this integration's credentials, so nothing was saved. The integration's owner has been told in the server's log. Return to Vercel and try again later.",
                Some(&params.next)).await;
        }
        Err(error) => {
            tracing::warn!(%error, "code exchange failed");
            return fail(state, StatusCode::BAD_GATEWAY, "Vercel did not confirm the installation",
                "Tether could not exchange the code with Vercel. The code can only be tried once, so return to Vercel and install again.",
                Some(&params.next)).await;
        }
    };

    // Vercel's answer, not the query string, says which installation and scope this is.
    let Some(identity) = agreed_identity(&grant, &params) else {
        tracing::warn!(
            security_event = "callback_identity_mismatch",
            query_configuration_id = configuration_id,
            token_installation_id = grant.installation_id.as_deref(),
            query_team_id = params.team_id.as_ref().map(|t| t.as_str()),
            token_team_id = grant.team_id.as_deref(),
            "the callback's parameters disagree with Vercel's token response"
        );
        return fail(state, StatusCode::BAD_REQUEST, "This installation link does not match",
            "The link's details disagree with what Vercel confirmed, so nothing was saved. Return to Vercel and install again.",
            Some(&params.next)).await;
    };

    let sealed = state.settings.sealer.seal(grant.access_token.expose().as_bytes(), &token_binding(configuration_id));
    let (session_id, session_hash) = web::new_session_id();
    let installation = NewInstallation {
        configuration_id,
        team_id: identity.team_id.as_deref(),
        user_id: &identity.user_id,
        source: params.source.as_str(),
        sealed_token: &sealed,
    };
    let session = NewSession {
        id_hash: &session_hash,
        configuration_id,
        next_url: params.next.as_str(),
        current_project_id: params.current_project_id.as_ref().map(|p| p.as_str()),
        external_id: params.external_id.as_deref(),
        lifetime_ms: web::SESSION_LIFETIME_MS,
    };
    match state.store.store_installation(installation, session).await {
        Ok(true) => {}
        // Vercel's removal webhook won the race with this callback.
        Ok(false) => return removed(state, &params.next).await,
        Err(error) => {
            tracing::error!(%error, "cannot store the installation");
            return try_again(
                state,
                "Tether could not save your installation. Return to Vercel and install again.",
                &params.next,
            )
            .await;
        }
    }
    tracing::info!(
        configuration_id,
        source = params.source.as_str(),
        team = identity.team_id.is_some(),
        "installation stored"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                match then {
                    start::Then::Install => format!("/install/{configuration_id}"),
                    start::Then::Configure => format!("/configure?configurationId={configuration_id}"),
                },
            ),
            (header::SET_COOKIE, web::session_cookie(state.settings.secure_cookies(), &session_id)),
        ],
    )
        .into_response()
}

/// The scope an installation acts in, as Vercel's token answer and the query agree on it.
struct Identity {
    team_id: Option<String>,
    user_id: String,
}

/// The token answer is trusted and wins; the query only fills in what the answer leaves out
/// (a Hobby team's answer may omit its `team_id`, a personal scope that is a team may arrive
/// without `teamId`). Only a real disagreement, both present and different, is refused, and an
/// answer that names no owner at all.
fn agreed_identity(grant: &TokenGrant, params: &CallbackParams) -> Option<Identity> {
    if grant.installation_id.as_deref().is_some_and(|id| id != params.configuration_id.as_str()) {
        return None;
    }
    let query_team = params.team_id.as_ref().map(|t| t.as_str().to_owned());
    let team_id = match (grant.team_id.clone(), query_team) {
        (Some(token), Some(query)) if token != query => return None,
        (token, query) => token.or(query),
    };
    let user_id = grant.user_id.clone().unwrap_or_default();
    if team_id.is_none() && user_id.is_empty() {
        return None;
    }
    Some(Identity { team_id, user_id })
}

async fn replayed(state: &AppState, headers: &HeaderMap, params: &CallbackParams) -> Response {
    tracing::info!(configuration_id = params.configuration_id.as_str(), "a used callback was replayed");
    let mut actions = Vec::new();
    let owner = state.owned(headers, params.configuration_id.as_str()).await.is_ok();
    if owner {
        actions.push(action("Continue the installation", format!("/install/{}", params.configuration_id)));
    }
    actions.push(action("Return to Vercel", params.next.as_str()));
    let page = error_view(
        StatusCode::CONFLICT,
        "This link was already used",
        "Each installation link from Vercel works once. Continue where you were, or return to Vercel.",
        actions,
    );
    web::render(state, StatusCode::CONFLICT, page).await
}

async fn removed(state: &AppState, next: &NextUrl) -> Response {
    tracing::info!(security_event = "callback_for_removed_installation", "a callback named a removed installation");
    fail(
        state,
        StatusCode::GONE,
        "This installation was removed",
        "Vercel reported this installation as uninstalled, so Tether will not bring it back. Install the \
         integration again from Vercel.",
        Some(next),
    )
    .await
}

/// Tether's own store failed: nothing was decided, so the user may simply try again.
async fn try_again(state: &AppState, message: &str, next: &NextUrl) -> Response {
    fail(state, StatusCode::SERVICE_UNAVAILABLE, "Please try again", message, Some(next)).await
}

async fn fail(state: &AppState, status: StatusCode, title: &str, message: &str, next: Option<&NextUrl>) -> Response {
    let dashboard = state.settings.vercel.dashboard_url.to_string();
    let back = next.map(|n| n.as_str().to_owned()).unwrap_or(dashboard);
    let page = error_view(status, title, message, vec![action("Return to Vercel", back)]);
    web::render(state, status, page).await
}
