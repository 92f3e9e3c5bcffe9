//! The vendor's view into a running Tether, behind `TETHER_OPERATOR_TOKEN`: Prometheus metrics
//! at `/metrics`; installations, recent failures and parked webhooks as JSON at `/operator`;
//! and a parked webhook's replay. Without a token configured, these routes do not exist (404):
//! they are never open.

use std::time::Duration;

use axum::{
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{state::AppState, store::now_ms, telemetry};

/// How many rows of each list `/operator` shows.
const LIST_LIMIT: i64 = 50;

/// Lets a request through only with `Authorization: Bearer <TETHER_OPERATOR_TOKEN>`.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.settings.operator_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same_token(sent.trim(), token.expose()) {
        tracing::warn!(security_event = "operator_token_refused", "an operator endpoint was refused");
        let mut response = (StatusCode::UNAUTHORIZED, "A bearer token is required.").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

/// Compares digests, not the values: comparing slices in constant time still answers at once
/// when their lengths differ, which would tell a guesser the token's length.
fn same_token(sent: &str, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    bool::from(subtle::ConstantTimeEq::ct_eq(
        &Sha256::digest(sent.as_bytes())[..],
        &Sha256::digest(token.as_bytes())[..],
    ))
}

/// Prometheus's text format. The inbox's gauges are read from the database now, so every
/// instance reports the shared inbox as it is.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = telemetry::metrics() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "Metrics are not recorded in this process.").into_response();
    };
    match state.store.inbox_stats().await {
        Ok(stats) => {
            let age = stats.oldest_pending_received_at.map_or(0, |at| now_ms().saturating_sub(at).max(0));
            telemetry::inbox(stats.pending, Duration::from_millis(age as u64), stats.parked);
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the webhook inbox"),
    }
    let mut response = handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Installations, recent failures and the webhook inbox, as JSON.
pub async fn overview(State(state): State<AppState>) -> Response {
    let store = &state.store;
    let read = async {
        Ok::<_, crate::store::StoreError>(json!({
            "installations": {
                "by_status": store
                    .installation_counts()
                    .await?
                    .into_iter()
                    .map(|(status, count)| (status, json!(count)))
                    .collect::<serde_json::Map<_, _>>(),
                "recent": store.recent_installations(LIST_LIMIT).await?,
            },
            "recent_failures": {
                "links": store.failed_links(LIST_LIMIT).await?,
                "provider_jobs_parked": store.parked_jobs(LIST_LIMIT).await?,
            },
            "webhooks": {
                "inbox": store.inbox_stats().await?,
                "parked": store.parked_events(LIST_LIMIT).await?,
                "replay": "POST /operator/webhooks/{id}/replay",
            },
        }))
    };
    match read.await {
        Ok(body) => Json(body).into_response(),
        Err(error) => {
            tracing::error!(%error, "operator overview: the database failed");
            (StatusCode::SERVICE_UNAVAILABLE, "The database did not answer.").into_response()
        }
    }
}

/// Puts a parked webhook event back in the inbox with fresh attempts, and wakes the worker.
pub async fn replay(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.store.replay_event(&id).await {
        Ok(true) => {
            tracing::info!(event_id = %id, "a parked webhook was replayed by the operator");
            state.worker.notify_one();
            (StatusCode::ACCEPTED, Json(json!({ "replayed": id }))).into_response()
        }
        Ok(false) => {
            (StatusCode::NOT_FOUND, Json(json!({ "error": "no parked webhook event has this id" }))).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "operator replay: the database failed");
            (StatusCode::SERVICE_UNAVAILABLE, "The database did not answer.").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn only_the_token_itself_matches_whatever_the_length_sent() {
        let token = "0123456789abcdef0123456789abcdef";
        assert!(same_token(token, token));
        for sent in ["", "0", &token[..31], &format!("{token}0"), "0123456789abcdef0123456789abcdeF"] {
            assert!(!same_token(sent, token), "{sent}");
        }
    }
}
