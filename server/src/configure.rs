//! The Configure button's page (`GET /configure?configurationId=…`) and what it can change.
//! The request is unsigned, so only a session bound to the installation sees anything; anyone
//! else gets the same answer whether the id exists or not, and a way to prove ownership through
//! Vercel (the external flow) that lands back here.

use std::collections::{BTreeSet, HashMap};

use app::{
    model::{ConfigureView, ErrorView, LinkView, ResourceView},
    pages::Page,
    AppError,
};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;

use crate::{
    provider::Resource,
    state::AppState,
    store::links::{LinkRow, LinkStatus},
    web::{self, action, failure::say::INTERRUPTED, Caller},
};

#[derive(Deserialize)]
pub struct ConfigureQuery {
    #[serde(rename = "configurationId", default)]
    configuration_id: String,
    #[serde(default)]
    notice: String,
}

/// Notices come from a fixed list: the query string never reaches the page as text.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "unlinked" => "The project was disconnected and the variables Tether created in it were removed.",
        "rotated" => "New credentials were issued and written to every connected project.",
        "failed" => "That did not work: Vercel may be unavailable. Nothing was lost; try again.",
        "not-yours" => "This browser is not signed in for that installation.",
        "" => return None,
        _ => return None,
    })
}

pub async fn configure_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ConfigureQuery>,
) -> Response {
    match load(&state, &headers, &query.configuration_id, &query.notice).await {
        Ok((view, _)) => web::render(&state, StatusCode::OK, Page::Configure(view)).await,
        Err(error) => {
            let id = &query.configuration_id;
            let retry = format!("/configure?configurationId={id}");
            web::installation_failure(&state, &headers, id, error, true, None, retry).await
        }
    }
}

/// The keys Tether wrote into each project, and how many variables (a key may be written once
/// per kind of target).
fn keys_by_project(vars: Vec<(String, String, String)>) -> HashMap<String, (BTreeSet<String>, usize)> {
    let mut keys: HashMap<String, (BTreeSet<String>, usize)> = HashMap::new();
    for (project, _, key) in vars {
        let entry = keys.entry(project).or_default();
        entry.0.insert(key);
        entry.1 += 1;
    }
    keys
}

/// One line per shown link, by project name: its resource, what was written, its last
/// deployment, and what failed.
fn link_views(
    links: &[LinkRow],
    resources: &[Resource],
    mut keys: HashMap<String, (BTreeSet<String>, usize)>,
    mut deployments: HashMap<String, String>,
) -> Vec<LinkView> {
    let resource_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| resources.iter().find(|r| &r.id == id))
            .map(|r| r.name.clone())
            .unwrap_or_else(|| "no resource".into())
    };
    let mut views: Vec<LinkView> = links
        .iter()
        .map(|l| {
            let (env_keys, env_count) = keys.remove(&l.project_id).unwrap_or_default();
            LinkView {
                project_id: l.project_id.clone(),
                project_name: l.project_name.clone(),
                resource_name: resource_name(&l.resource_id),
                env_keys: env_keys.into_iter().collect(),
                env_count,
                last_deployment: deployments.remove(&l.project_id),
                failed: match l.status {
                    LinkStatus::Failed => Some(l.detail.clone().unwrap_or_default()),
                    LinkStatus::Provisioning => Some(INTERRUPTED.to_owned()),
                    _ => None,
                },
            }
        })
        .collect();
    views.sort_by(|a, b| a.project_name.cmp(&b.project_name));
    views
}

/// The Configure page's view, and the session's `next` (the popup's last step shows the same
/// connections).
pub(crate) async fn load(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
    notice: &str,
) -> Result<(ConfigureView, String), AppError> {
    let authorized = state.authorize(&Caller::of(headers, state.settings.secure_cookies()), configuration_id).await?;
    let configuration_id = authorized.id();
    let scope = authorized.vercel.scope_name().await?;
    authorized.note_working().await?;
    let resources = authorized.resources().await?;
    let links: Vec<_> = authorized
        .links()
        .await?
        .into_iter()
        // An interrupted link (a crash between Vercel's write and Tether's record) is shown too,
        // so the user can finish it (connect again) or undo it (disconnect).
        .filter(|l| matches!(l.status, LinkStatus::Linked | LinkStatus::Failed | LinkStatus::Provisioning))
        .collect();
    let keys = keys_by_project(authorized.written_env().await?);
    let mut deployments = HashMap::new();
    let mut new_projects = Vec::new();
    for (project, kind, detail) in authorized.project_events().await? {
        match kind.as_str() {
            "deployment" => {
                deployments.insert(project, detail);
            }
            _ if !links.iter().any(|l| l.project_id == project) => new_projects.push(detail),
            _ => {}
        }
    }
    let link_views = link_views(&links, &resources, keys, deployments);
    let resource_views = resources
        .iter()
        .map(|r| ResourceView {
            id: r.id.clone(),
            name: r.name.clone(),
            url: r.url.clone(),
            linked_projects: links.iter().filter(|l| l.resource_id.as_deref() == Some(r.id.as_str())).count(),
            rotating: r.rotating,
        })
        .collect();
    let view = ConfigureView {
        configuration_id: configuration_id.to_string(),
        scope_name: scope.name,
        scope_note: scope.missing_scope.map(web::scope_note),
        is_team: authorized.installation.team_id.is_some(),
        vendor_name: state.provider.name().to_owned(),
        links: link_views,
        resources: resource_views,
        new_projects,
        notice: notice_text(notice).map(str::to_owned),
        form_token: web::form_token_of(headers, state.settings.secure_cookies()),
    };
    Ok((view, authorized.session.next_url.clone()))
}

pub async fn uninstalled(State(state): State<AppState>) -> Response {
    let page = Page::Error(ErrorView {
        kind: "uninstalled".into(),
        status: 200,
        title: "Tether was uninstalled".into(),
        message: "Vercel removed the integration and the variables it created. Tether no longer holds a token for \
                  it."
        .into(),
        advice: "To use it again, install the integration from Vercel.".into(),
        actions: vec![action("Return to Vercel", state.settings.vercel.dashboard_url.as_str())],
    });
    web::render(&state, StatusCode::OK, page).await
}
