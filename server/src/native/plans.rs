//! The billing plans Vercel offers when a user creates a resource (`GET
//! /v1/products/{slug}/plans`, re-read as the user fills the form) and for an installation
//! (`GET /v1/installations/{id}/plans`). Tether does not bill: until products and their plans
//! come from the settings, every product has one free plan that needs no payment method.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::partner::{caller, NEW_INSTALLATION};
use crate::state::AppState;

/// Vercel's BillingPlan with the fields a free plan needs (native-protocol.md 1.6).
fn free_plan() -> Value {
    json!({
        "id": "free",
        "type": "subscription",
        "name": "Free",
        "scope": "resource",
        "description": "No charge: the vendor bills nothing through Vercel.",
        "paymentMethodRequired": false,
    })
}

pub async fn for_product(State(state): State<AppState>, headers: HeaderMap, Path(_slug): Path<String>) -> Response {
    // Asked before the installation exists too: no installation to hold the token to.
    match caller(&state, &headers, None).await {
        Ok(_) => Json(json!({ "plans": [free_plan()] })).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

pub async fn for_installation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
) -> Response {
    let installation = Some(installation_id.as_str()).filter(|id| *id != NEW_INSTALLATION);
    match caller(&state, &headers, installation).await {
        Ok(_) => Json(json!({ "plans": [free_plan()] })).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}
