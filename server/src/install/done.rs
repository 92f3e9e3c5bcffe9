//! The popup's last step (`GET /install/{configurationId}/done`): what the installation
//! connected, and the way back to Vercel's `next`, taken on its own after a pause.

use app::{model::DoneView, pages::Page};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};

use crate::{configure, state::AppState, web};

pub async fn done_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(configuration_id): Path<String>,
) -> Response {
    match configure::load(&state, &headers, &configuration_id, "").await {
        Ok((view, next)) => {
            let done = DoneView { vendor_name: view.vendor_name, scope_name: view.scope_name, links: view.links, next };
            web::render(&state, StatusCode::OK, Page::Done(done)).await
        }
        Err(error) => {
            let retry = format!("/install/{configuration_id}/done");
            web::installation_failure(&state, &headers, &configuration_id, error, false, None, retry).await
        }
    }
}
