//! What every answer shares: the flaws a test switched on, the error shape, and accepting a
//! call only when it is signed.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{signature::signed, Flaw, Vendor};

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

pub(crate) fn internal(cause: sqlx::Error) -> Response {
    tracing::error!(%cause, "database");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
}

/// The flaws that change every answer: its content type, and the shape of its errors.
pub(crate) async fn flawed_answers(
    State(vendor): State<Vendor>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if vendor.flawed(Flaw::BareErrors) && response.status().is_client_error() {
        return (response.status(), Json(json!({"message": "refused"}))).into_response();
    }
    if vendor.flawed(Flaw::TextContentType) {
        response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("text/plain"));
    }
    response
}

/// What every call goes through: the knobs, the signature, then the body for this action.
pub(crate) async fn accept<T: for<'de> Deserialize<'de>>(
    vendor: &Vendor,
    headers: &HeaderMap,
    body: &[u8],
    action: &str,
) -> Result<T, Response> {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (delay, down) = vendor.knobs(|k| {
        k.seen.push((action.to_owned(), id));
        (k.delay, k.down)
    });
    tokio::time::sleep(delay).await;
    if down {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Down for maintenance."));
    }
    if !signed(&vendor.0.keys, headers, body, vendor.knobs(|k| k.flaw)) {
        return Err(error(StatusCode::UNAUTHORIZED, "bad_signature", "The request is not signed by Tether."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "bad_request", "The body is not JSON."))?;
    if value["action"] != action {
        return Err(error(StatusCode::BAD_REQUEST, "wrong_action", "The body is for another endpoint."));
    }
    serde_json::from_value(value)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "bad_request", &format!("The body does not fit: {e}")))
}

/// After the work is done: an answer, or, when a test asked, a lost one.
pub(crate) fn answer(vendor: &Vendor, action: &str, status: StatusCode, body: Value) -> Response {
    let lost = vendor.knobs(|k| match &k.lose_next_answer {
        Some(lose) if lose == action => k.lose_next_answer.take().is_some(),
        _ => false,
    });
    if lost {
        return error(StatusCode::BAD_GATEWAY, "lost", "The answer was lost on the way back.");
    }
    (status, Json(body)).into_response()
}
