//! `GET /install/{configurationId}`: who is installing and every project they can link.

use std::{collections::HashMap, sync::Arc};

use app::{
    model::{summary, InstallView, ProjectRow, ResourceOption, RowState, CHOICE_NEW, CHOICE_SKIP},
    pages::{Page, ROWS_SLOT},
    AppError,
};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    html::{
        self,
        rows::{digest, Rows},
    },
    ops::{parse_listing, Authorized, Listed},
    provider::Resource,
    state::AppState,
    store::links::{LinkRow, LinkStatus},
    vercel::projects::Project,
    web,
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
        Ok((view, None)) => web::render(&state, StatusCode::OK, Page::Install(view)).await,
        Ok((view, Some(rows))) => with_rows(&state, &headers, view, &rows),
        Err(Failed { error, next }) => {
            let retry = format!("/install/{configuration_id}");
            web::installation_failure(&state, &headers, &configuration_id, error, false, next.as_deref(), retry).await
        }
    }
}

/// Renders the page around [`ROWS_SLOT`] and has the cached rows put there.
fn with_rows(state: &AppState, headers: &HeaderMap, view: InstallView, rows: &Rows) -> Response {
    let rendered = web::render_html(state, Page::Install(view));
    match html::page::with_rows(&rendered.html, &rows.markup, web::accepts_brotli(headers)) {
        Ok(body) if body.brotli => web::brotli_encoded(rendered.respond(StatusCode::OK, body.bytes)),
        Ok(body) => rendered.respond(StatusCode::OK, body.bytes),
        Err(error) => {
            tracing::error!(%error, "the install page could not be made");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Why the page could not be loaded, with the session's `next` once the session is known.
struct Failed {
    error: AppError,
    next: Option<String>,
}

impl From<AppError> for Failed {
    fn from(error: AppError) -> Self {
        Failed { error, next: None }
    }
}

/// The page's view, and its rows when it has a project list.
async fn load(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
    query: String,
    refresh: bool,
) -> Result<(InstallView, Option<Arc<Rows>>), Failed> {
    let caller = web::Caller::of(headers, state.settings.secure_cookies());
    let authorized = state.authorize_listing(&caller, configuration_id).await?;
    let form_token = web::form_token_of(headers, state.settings.secure_cookies());
    let loaded = load_authorized(state, &authorized, form_token, query, refresh).await;
    loaded.map_err(|error| Failed { error, next: Some(authorized.session.next_url.clone()) })
}

async fn load_authorized(
    state: &AppState,
    authorized: &Authorized<'_>,
    form_token: String,
    query: String,
    refresh: bool,
) -> Result<(InstallView, Option<Arc<Rows>>), AppError> {
    let configuration_id = authorized.id();
    let view = |scope_name, scope_note, shown, total_projects| InstallView {
        configuration_id: configuration_id.to_string(),
        scope_name,
        scope_note,
        is_team: authorized.installation.team_id.is_some(),
        vendor_name: state.provider.name().to_owned(),
        sign_in: None,
        rows: ROWS_SLOT.to_owned(),
        shown,
        total_projects,
        query: query.clone(),
        summary: String::new(),
        access_note: None,
        fixed: false,
        next: authorized.session.next_url.clone(),
        form_token: form_token.clone(),
    };
    if authorized.needs_vendor_account() {
        // Which account's resources to offer is the vendor's to say: sign in there first.
        let scope = authorized.vercel.scope_name().await?;
        let sign_in = Some(format!("/install/{configuration_id}/account"));
        let view = InstallView {
            sign_in,
            rows: String::new(),
            ..view(scope.name, scope.missing_scope.map(web::scope_note), 0, 0)
        };
        return Ok((view, None));
    }
    let rows = rows(state, authorized, &query, refresh).await?;
    let view = InstallView {
        summary: rows.summary.clone(),
        access_note: rows.access_note.clone(),
        fixed: rows.fixed,
        ..view(rows.scope_name.clone(), rows.scope_note.clone(), rows.shown, rows.total)
    };
    Ok((view, Some(rows)))
}

/// The rows: rendered by this load, or by an earlier one from the same inputs.
async fn rows(
    state: &AppState,
    authorized: &Authorized<'_>,
    query: &str,
    refresh: bool,
) -> Result<Arc<Rows>, AppError> {
    let (listing, resources, links) =
        tokio::try_join!(authorized.listing(refresh), authorized.resources(), authorized.links())?;
    let needle = query.trim().to_lowercase();
    let preselected = authorized.session.current_project_id.as_deref();
    let picks_recent = authorized.installation.source == crate::params::Source::Marketplace;
    let resource_names: Vec<_> = resources.iter().map(|r| (&r.id, &r.name)).collect();
    let key = digest(&(authorized.id(), &listing, &links, resource_names, preselected, picks_recent, &needle));
    if let Some(rows) = state.rows.get(&key) {
        return Ok(rows);
    }
    let listing = match parse_listing(&listing) {
        Some(parsed) => parsed,
        // Cached by an older version: list again, in the form this one reads.
        None => parse_listing(&authorized.listing(true).await?).ok_or(AppError::Internal)?,
    };
    let lead = match preselected {
        Some(project) => Lead::Deployed(project),
        None if picks_recent => Lead::MostRecent,
        None => Lead::None,
    };
    let rows = Arc::new(render_rows(listing, &resources, links, lead, &needle)?);
    state.rows.insert(key, rows.clone());
    Ok(rows)
}

/// Which project comes chosen, with a new resource, as the page opens.
#[derive(Clone, Copy)]
enum Lead<'a> {
    /// The Deploy Button's project, just deployed.
    Deployed(&'a str),
    /// The marketplace popup's first install: the most recently updated project not linked yet
    /// (Vercel's approval checklist asks that the first project be pre-selected). Once something
    /// is linked, nothing is chosen for the user: a new resource may cost them money.
    MostRecent,
    None,
}

/// The most recently updated project without a link; in Vercel's order (newest first) when
/// the listing does not say when each was updated.
fn most_recent_unlinked<'a>(projects: &'a [Project], links: &HashMap<String, LinkRow>) -> Option<&'a str> {
    projects
        .iter()
        .enumerate()
        .filter(|(_, p)| !links.contains_key(&p.id))
        .max_by_key(|(at, p)| (p.updated_at.unwrap_or(i64::MIN), std::cmp::Reverse(*at)))
        .map(|(_, p)| p.id.as_str())
}

/// What the page says of an installation given only some projects at Vercel.
fn access_note(projects: &[Project]) -> String {
    match projects {
        [only] => {
            format!(
                "This installation was given one project at Vercel, {}: choose its resource and connect.",
                only.name
            )
        }
        some => format!(
            "This installation was given {} of the account's projects at Vercel. To connect others, add them to \
             its project access in Vercel's dashboard.",
            some.len()
        ),
    }
}

/// A linked project's row: linked, failed, interrupted or clashing.
fn row_state(link: &LinkRow, resource_names: &HashMap<&str, &str>) -> RowState {
    match link.status {
        LinkStatus::Linked => RowState::Linked {
            resource_name: link
                .resource_id
                .as_deref()
                .and_then(|r| resource_names.get(r))
                .map_or_else(|| "a resource".into(), |name| (*name).to_owned()),
        },
        LinkStatus::Failed => {
            RowState::Failed { message: link.detail.clone().unwrap_or_else(|| "The last attempt failed.".into()) }
        }
        LinkStatus::Provisioning => RowState::Failed { message: crate::web::failure::say::INTERRUPTED.to_owned() },
        LinkStatus::Clash => RowState::Clash { keys: link.clash_keys() },
        _ => RowState::Open,
    }
}

/// Every project the search leaves, with its state and the choices it offers.
fn render_rows(
    Listed { scope, projects, limited }: Listed,
    resources: &[Resource],
    links: Vec<LinkRow>,
    lead: Lead<'_>,
    needle: &str,
) -> Result<Rows, AppError> {
    let resource_names: HashMap<_, _> = resources.iter().map(|r| (r.id.as_str(), r.name.as_str())).collect();
    let links: HashMap<_, _> = links.into_iter().map(|l| (l.project_id.clone(), l)).collect();
    let total = projects.len();
    // Limited to one project at Vercel: the choice of project is made; only its resource is left.
    let fixed = limited && total == 1;
    let access_note = limited.then(|| access_note(&projects));
    let preselected = match lead {
        Lead::Deployed(project) => Some(project),
        Lead::None | Lead::MostRecent => None,
    };
    let nothing_linked = !links.values().any(|l| l.status == LinkStatus::Linked);
    let recent = match lead {
        Lead::MostRecent if nothing_linked => most_recent_unlinked(&projects, &links).map(str::to_owned),
        _ => None,
    };
    let mut picked = false;
    let rows: Vec<ProjectRow> = projects
        .into_iter()
        .filter(|p| needle.is_empty() || p.name.to_lowercase().contains(needle))
        .map(|p| {
            let link = links.get(&p.id);
            let state = link.map_or(RowState::Open, |l| row_state(l, &resource_names));
            // A project the user just deployed, the most recent one on a first marketplace
            // install, or the only one there is, gets a new resource.
            let is_recent = recent.as_deref() == Some(p.id.as_str());
            picked |= is_recent;
            let wants_new = preselected == Some(p.id.as_str()) || is_recent || total == 1 || link.is_some();
            ProjectRow {
                default_choice: if wants_new { CHOICE_NEW } else { CHOICE_SKIP }.into(),
                current: preselected == Some(p.id.as_str()),
                recent: is_recent,
                fixed,
                id: p.id,
                name: p.name,
                framework: p.framework,
                state,
            }
        })
        .collect();
    let shown = rows.len();
    // Only ever a new resource is chosen for the user (see `wants_new`).
    let chosen = rows.iter().filter(|r| r.default_choice == CHOICE_NEW && !matches!(r.state, RowState::Linked { .. }));
    // The row says which project it is; the line stays short, as it sits under the list.
    let summary = match picked {
        true => format!("{} The most recently updated project comes chosen.", summary(chosen.count(), &[])),
        false => summary(chosen.count(), &[]),
    };
    let options: Vec<_> = resources.iter().map(|r| ResourceOption { id: r.id.clone(), name: r.name.clone() }).collect();
    let markup = html::rows::compressed(rows, &options)?;
    Ok(Rows {
        markup,
        shown,
        total,
        summary,
        scope_name: scope.name,
        scope_note: scope.missing_scope.map(web::scope_note),
        access_note,
        fixed,
    })
}
