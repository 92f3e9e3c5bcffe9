//! The pages a user sees on "Vercel": the dashboard with Install buttons that open Tether's
//! Redirect URL in a popup, the `next` page that marks the install complete, and a JSON view of
//! the state for the dashboard and for tests.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;

use crate::state::Sim;

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/", get(dashboard))
        .route("/integrations/tether/begin", get(begin))
        .route("/integrations/tether/installed", get(installed))
        .route("/sim/api/state", get(state))
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

#[derive(Deserialize)]
struct Begin {
    account: String,
}

/// The popup's first stop: Vercel creates the installation and a code, then opens the Redirect URL.
async fn begin(State(sim): State<Sim>, Query(q): Query<Begin>) -> Response {
    match sim.begin_install(&q.account, "marketplace") {
        Some(url) => Redirect::to(&url).into_response(),
        None => (StatusCode::NOT_FOUND, "No such account").into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Installed {
    configuration_id: String,
}

async fn installed(State(sim): State<Sim>, Query(q): Query<Installed>) -> Response {
    if !sim.complete(&q.configuration_id) {
        return (StatusCode::NOT_FOUND, Html("<h1>Unknown installation</h1>")).into_response();
    }
    // Vercel's `next` closes the popup; the dashboard behind it then shows the installation.
    Html(
        "<!doctype html><meta charset=utf-8><title>Installed</title>\
         <h1 data-testid=installed>Installation complete</h1>\
         <p>This window closes by itself.</p>\
         <script>setTimeout(() => window.close(), 2500)</script>",
    )
    .into_response()
}

async fn state(State(sim): State<Sim>) -> Json<crate::Snapshot> {
    Json(sim.snapshot())
}
