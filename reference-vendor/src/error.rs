//! Every way the vendor refuses a call, as one type: each has its status, its code from the
//! contract's error shape and a message a person can act on. Handlers return it with `?`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

#[derive(Debug)]
pub(crate) enum ApiError {
    /// A test switched the service off.
    Unavailable,
    BadSignature,
    NotJson,
    /// A body signed for one endpoint and sent to another.
    WrongAction,
    BodyDoesNotFit(String),
    UnknownResource,
    IdempotencyKeyMissing,
    IdempotencyKeyTooLong,
    /// The key was first used by another account.
    IdempotencyKeyReused,
    /// The product's own rule: this many databases per account.
    PlanLimit(i64),
    BadPhase,
    /// A release that does not say it is for what Tether created.
    BadRelease,
    /// A test asked for the answer to be lost after the work was done.
    Lost,
    /// The vendor's own fault; logged, never shown.
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        let (status, code, message) = match self {
            Self::Unavailable => (S::SERVICE_UNAVAILABLE, "unavailable", "Down for maintenance."),
            Self::BadSignature => (S::UNAUTHORIZED, "bad_signature", "The request is not signed by Tether."),
            Self::NotJson => (S::BAD_REQUEST, "bad_request", "The body is not JSON."),
            Self::WrongAction => (S::BAD_REQUEST, "wrong_action", "The body is for another endpoint."),
            Self::BodyDoesNotFit(why) => {
                return (S::BAD_REQUEST, "bad_request", format!("The body does not fit: {why}"))
            }
            Self::UnknownResource => (S::NOT_FOUND, "unknown_resource", "No such database in this account."),
            Self::IdempotencyKeyMissing => (S::BAD_REQUEST, "idempotency_key_missing", "Idempotency-Key is required."),
            Self::IdempotencyKeyTooLong => {
                (S::BAD_REQUEST, "idempotency_key_invalid", "Idempotency-Key is over 128 characters.")
            }
            Self::IdempotencyKeyReused => {
                (S::CONFLICT, "idempotency_key_reused", "That Idempotency-Key belongs to another account.")
            }
            Self::PlanLimit(limit) => {
                let message = format!("Your plan allows {limit} databases; upgrade to add more.");
                return (S::UNPROCESSABLE_ENTITY, "plan_limit", message);
            }
            Self::BadPhase => (S::BAD_REQUEST, "bad_phase", "phase must be begin or finish."),
            Self::BadRelease => {
                (S::BAD_REQUEST, "bad_request", "A release names its installation and origin `created`.")
            }
            Self::Lost => (S::BAD_GATEWAY, "lost", "The answer was lost on the way back."),
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side."),
        };
        (status, code, message.to_owned())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(cause: sqlx::Error) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "the vendor failed");
        }
        let (status, code, message) = self.parts();
        (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
    }
}
