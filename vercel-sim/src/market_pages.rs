//! The dashboard's Marketplace buttons, as JSON endpoints under `/sim/api/market`: each does what
//! Vercel does when its user presses the button (see `marketplace`), and answers what the
//! integration said, or why the simulator refused its answer (422 with `{why, status, body}`).

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    marketplace::{PartnerFault, Refused},
    state::Sim,
};

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim/api/market", get(market))
        .route("/sim/api/market/plans", get(plans))
        .route("/sim/api/market/install", post(install))
        .route("/sim/api/market/fault", post(fault))
        .route("/sim/api/market/installations/{id}/uninstall", post(uninstall))
        .route("/sim/api/market/installations/{id}/resources", post(provision))
        .route("/sim/api/market/installations/{id}/resources/{rid}", delete(remove))
        .route("/sim/api/market/installations/{id}/resources/{rid}/connect", post(connect))
        .route("/sim/api/market/installations/{id}/resources/{rid}/disconnect", post(disconnect))
        .route("/sim/api/market/installations/{id}/resources/{rid}/rotate", post(rotate))
}

fn answer(result: Result<Value, Refused>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(refused) => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!(refused))).into_response(),
    }
}

/// What the Marketplace part of the dashboard draws.
async fn market(State(sim): State<Sim>) -> Json<Value> {
    // The projects a resource may be connected to: those of each installation's account.
    let mut projects = serde_json::Map::new();
    for installation in sim.native_installations() {
        let of: Vec<Value> =
            sim.projects_of(&installation.account_id).iter().map(|p| json!({"id": p.id, "name": p.name})).collect();
        projects.insert(installation.account_id, Value::Array(of));
    }
    Json(json!({
        "projects": projects,
        "products": sim.config.products,
        "installations": sim.native_installations(),
        "resources": sim.native_resources(),
        "calls": sim.partner_calls(),
        "apiCalls": sim.native_api_calls(),
    }))
}

#[derive(Deserialize)]
struct PlansQuery {
    product: String,
    installation: Option<String>,
}

async fn plans(State(sim): State<Sim>, Query(query): Query<PlansQuery>) -> Response {
    answer(sim.native_plans(&query.product, query.installation.as_deref()).await)
}

#[derive(Deserialize)]
struct InstallBody {
    account: String,
}

async fn install(State(sim): State<Sim>, Json(body): Json<InstallBody>) -> Response {
    answer(sim.native_install(&body.account).await.map(|id| json!({"id": id})))
}

#[derive(Deserialize)]
struct FaultBody {
    fault: Option<PartnerFault>,
}

async fn fault(State(sim): State<Sim>, Json(body): Json<FaultBody>) -> StatusCode {
    sim.set_partner_fault(body.fault);
    StatusCode::NO_CONTENT
}

async fn uninstall(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    answer(sim.native_uninstall(&id).await.map(|finalized| json!({"finalized": finalized})))
}

#[derive(Deserialize)]
struct ProvisionBody {
    product: String,
    name: String,
    #[serde(default)]
    metadata: Option<Value>,
    plan: String,
}

async fn provision(State(sim): State<Sim>, Path(id): Path<String>, Json(body): Json<ProvisionBody>) -> Response {
    let metadata = body.metadata.unwrap_or_else(|| json!({}));
    let made = sim.native_provision(&id, &body.product, &body.name, metadata, &body.plan).await;
    answer(made.map(|resource| json!(resource)))
}

async fn remove(State(sim): State<Sim>, Path((id, rid)): Path<(String, String)>) -> Response {
    answer(sim.native_delete(&id, &rid).await.map(|()| json!({})))
}

#[derive(Deserialize)]
struct ProjectBody {
    project: String,
}

async fn connect(
    State(sim): State<Sim>,
    Path((id, rid)): Path<(String, String)>,
    Json(body): Json<ProjectBody>,
) -> Response {
    answer(sim.native_connect(&id, &rid, &body.project).map(|()| json!({})))
}

async fn disconnect(
    State(sim): State<Sim>,
    Path((id, rid)): Path<(String, String)>,
    Json(body): Json<ProjectBody>,
) -> Response {
    answer(sim.native_disconnect(&id, &rid, &body.project).map(|()| json!({})))
}

#[derive(Deserialize)]
struct RotateBody {
    #[serde(default)]
    delay_hours: f64,
}

async fn rotate(
    State(sim): State<Sim>,
    Path((id, rid)): Path<(String, String)>,
    Json(body): Json<RotateBody>,
) -> Response {
    answer(sim.native_rotate(&id, &rid, body.delay_hours).await.map(|sync| json!({"sync": sync})))
}
