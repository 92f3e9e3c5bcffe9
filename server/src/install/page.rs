//! `GET /install/{configurationId}`: who is installing and every project they can link.

use std::collections::HashMap;

use app::{
    model::{InstallView, ProjectRow, ResourceOption, RowState, CHOICE_NEW, CHOICE_SKIP},
    pages::Page,
    AppError,
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;

use crate::{
    state::AppState,
    store::links::LinkStatus,
    web::{self, action, error_view},
};

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    q: String,
    /// The page's Refresh link: list the projects at Vercel again, not from the cache.
    #[serde(default)]
    refresh: Option<String>,
}

pub async fn install_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(configuration_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let refresh = query.refresh.is_some();
    match load(&state, &headers, &configuration_id, query.q.chars().take(100).collect(), refresh).await {
        Ok(view) => web::render(&state, StatusCode::OK, Page::Install(view)).await,
        Err((error, next)) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut actions = Vec::new();
            if error != AppError::NotYours {
                actions.push(action("Try again", format!("/install/{configuration_id}")));
            }
            let back = next.unwrap_or_else(|| state.settings.vercel.dashboard_url.to_string());
            actions.push(action("Return to Vercel", back));
            let title = match error {
                AppError::NotYours => "Installation not found",
                AppError::Busy { .. } => "Still working",
                _ => "The projects could not be loaded",
            };
            let message = match error {
                AppError::NotYours => "This installation was not found, or this browser did not start it. \
                                       Open the integration again from Vercel."
                    .to_owned(),
                ref other => other.to_string(),
            };
            let mut response = web::render(&state, status, error_view(status, title, message, actions)).await;
            if let AppError::Busy { retry_after_secs, .. } = error {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            }
            response
        }
    }
}

async fn load(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
    query: String,
    refresh: bool,
) -> Result<InstallView, (AppError, Option<String>)> {
    let authorized = state.authorize(headers, configuration_id).await.map_err(|e| (e, None))?;
    let next = authorized.session.next_url.clone();
    let fail = |e: AppError| (e, Some(next.clone()));
    if authorized.needs_vendor_account() {
        // Which account's resources to offer is the vendor's to say: sign in there first.
        let scope = authorized.vercel.scope_name().await.map_err(|e| fail(e.into()))?;
        return Ok(InstallView {
            configuration_id: configuration_id.to_owned(),
            scope_note: scope.missing_scope.map(scope_note),
            scope_name: scope.name,
            is_team: authorized.installation.team_id.is_some(),
            vendor_name: state.provider.name().to_owned(),
            sign_in: Some(format!("/install/{configuration_id}/account")),
            projects: Vec::new(),
            total_projects: 0,
            query,
            resources: Vec::new(),
            next,
            form_token: web::form_token_of(headers, state.settings.secure_cookies()),
        });
    }
    let (scope, projects) = authorized.listing(refresh).await.map_err(fail)?;
    let owner = authorized.owner();
    let resources = state.provider.resources(owner).await.map_err(|e| fail(e.into()))?;
    let resource_names: HashMap<_, _> = resources.iter().map(|r| (r.id.clone(), r.name.clone())).collect();
    let links: HashMap<_, _> = state
        .store
        .links_of(configuration_id)
        .await
        .map_err(|e| fail(e.into()))?
        .into_iter()
        .map(|l| (l.project_id.clone(), l))
        .collect();
    let total_projects = projects.len();
    let needle = query.trim().to_lowercase();
    let preselected = authorized.session.current_project_id.as_deref();
    let rows = projects
        .into_iter()
        .filter(|p| needle.is_empty() || p.name.to_lowercase().contains(&needle))
        .map(|p| {
            let link = links.get(&p.id);
            let state = match link {
                Some(l) if l.status == LinkStatus::Linked => RowState::Linked {
                    resource_name: l
                        .resource_id
                        .as_ref()
                        .and_then(|r| resource_names.get(r).cloned())
                        .unwrap_or_else(|| "a resource".into()),
                },
                Some(l) if l.status == LinkStatus::Failed => {
                    RowState::Failed { message: l.error.clone().unwrap_or_else(|| "The last attempt failed.".into()) }
                }
                Some(l) if l.status == LinkStatus::Provisioning => {
                    RowState::Failed { message: crate::ops::INTERRUPTED.to_owned() }
                }
                Some(l) if l.status == LinkStatus::Clash => RowState::Clash {
                    keys: l.error.as_deref().unwrap_or_default().split(", ").map(str::to_owned).collect(),
                },
                _ => RowState::Open,
            };
            // A project the user just deployed, or the only one there is, gets a new resource.
            let wants_new = preselected == Some(p.id.as_str()) || total_projects == 1 || link.is_some();
            ProjectRow {
                default_choice: if wants_new { CHOICE_NEW } else { CHOICE_SKIP }.into(),
                id: p.id,
                name: p.name,
                framework: p.framework,
                state,
            }
        })
        .collect();
    Ok(InstallView {
        configuration_id: configuration_id.to_owned(),
        scope_note: scope.missing_scope.map(scope_note),
        scope_name: scope.name,
        is_team: authorized.installation.team_id.is_some(),
        vendor_name: state.provider.name().to_owned(),
        sign_in: None,
        projects: rows,
        total_projects,
        query,
        resources: resources.into_iter().map(|r| ResourceOption { id: r.id, name: r.name }).collect(),
        next,
        form_token: web::form_token_of(headers, state.settings.secure_cookies()),
    })
}

/// What the popup says when Vercel would not name the scope: which scope would.
pub fn scope_note(scope: &crate::vercel::scopes::Scope) -> String {
    format!(
        "Vercel did not share this account's name with the integration (it lacks the `{}` scope), \
         so its id is shown instead. Everything else works.",
        scope.token()
    )
}
