//! What every answer shares: the flaws a test switched on, and accepting a call only when it is
//! signed.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{error::ApiError, signature::signed, Flaw, Vendor};

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
) -> Result<T, ApiError> {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (delay, down) = vendor.knobs(|k| {
        k.seen.push((action.to_owned(), id));
        (k.delay, k.down)
    });
    tokio::time::sleep(delay).await;
    if down {
        return Err(ApiError::Unavailable);
    }
    if !signed(&vendor.0.keys, headers, body, vendor.knobs(|k| k.flaw)) {
        return Err(ApiError::BadSignature);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| ApiError::NotJson)?;
    if value["action"] != action {
        return Err(ApiError::WrongAction);
    }
    serde_json::from_value(value).map_err(|e| ApiError::BodyDoesNotFit(e.to_string()))
}

/// After the work is done: an answer, or, when a test asked, a lost one.
pub(crate) fn answer(vendor: &Vendor, action: &str, status: StatusCode, body: Value) -> Result<Response, ApiError> {
    let lost = vendor.knobs(|k| match &mut k.lose_answers {
        Some((lose, left)) if lose == action && *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    });
    if lost {
        return Err(ApiError::Lost);
    }
    Ok((status, Json(body)).into_response())
}
