//! The billing plans Vercel offers when a user creates a resource (`GET
//! /v1/products/{slug}/plans`, re-read as the user fills the form: a product's resource plans)
//! and for an installation (`GET /v1/installations/{id}/plans`: the installation-scoped plans
//! of every product). They come from `[[native.products]]` (see `settings::products`).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::partner::{caller, NEW_INSTALLATION};
use crate::{
    settings::products::{Plan, PlanScope},
    state::AppState,
};

pub async fn for_product(State(state): State<AppState>, headers: HeaderMap, Path(slug): Path<String>) -> Response {
    // Asked before the installation exists too: no installation to hold the token to.
    if let Err(refusal) = caller(&state, &headers, None).await {
        return refusal.into_response();
    }
    let Some(product) = state.settings.products.iter().find(|p| p.slug == slug) else {
        let body = json!({"error": {"code": "not_found", "message": "no product has this slug"}});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    let plans: Vec<&Plan> = product.plans.iter().filter(|p| p.scope == PlanScope::Resource).collect();
    Json(json!({ "plans": plans })).into_response()
}

pub async fn for_installation(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
) -> Response {
    let installation = Some(installation_id.as_str()).filter(|id| *id != NEW_INSTALLATION);
    if let Err(refusal) = caller(&state, &headers, installation).await {
        return refusal.into_response();
    }
    let products = state.settings.products.iter();
    let plans: Vec<&Plan> = products.flat_map(|p| &p.plans).filter(|p| p.scope == PlanScope::Installation).collect();
    Json(json!({ "plans": plans })).into_response()
}
