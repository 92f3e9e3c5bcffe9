//! The pages a user sees on "Vercel": the dashboard with Install buttons that open Tether's
//! Redirect URL in a popup, the `next` page that marks the install complete, and a JSON view of
//! the state for the dashboard and for tests.

use axum::extract::{Path, RawQuery};
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use crate::state::{Begin, Sim};

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/", get(dashboard))
        .route("/integrations/tether/begin", get(begin))
        .route("/integrations/tether/choose", get(choose_projects))
        .route("/sim/api/installations/{id}/projects", post(set_project_access))
        .route("/integrations/{slug}/new", get(choose_scope))
        .route("/integrations/tether/installed", get(installed))
        .route("/sim/api/state", get(state))
        .route("/sim/api/installations/{id}/uninstall", post(uninstall))
        .route("/sim/api/installations/{id}/transfer", post(transfer))
        .route("/sim/api/installations/{id}/scopes", post(confirm_scopes))
        .route("/sim/api/installations/{id}/transfer-to-member", post(transfer_to_member))
        .route("/sim/api/teams/{id}/leave", post(leave_team))
        .route("/sim/api/projects/{id}/remove", post(remove_project))
        .route("/sim/api/projects/{id}/rename", post(rename_project))
        .route("/sim/api/projects/{id}/deploy", post(deploy))
        .route("/sim/api/projects/{id}/env", post(add_env))
        .route("/sim/api/accounts/{id}/name", post(rename_account))
        .route("/sim/api/teams", post(add_team))
        .route("/sim/api/deliveries/{id}/replay", post(replay))
        .route("/sim/api/deliveries", get(deliveries))
        .route("/sim/api/faults", post(add_faults))
}

async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

#[derive(Deserialize)]
struct BeginQuery {
    account: String,
    source: Option<String>,
    state: Option<String>,
    /// Set by the Deploy button: create a project first, as a Deploy Button does.
    deploy: Option<String>,
    external_id: Option<String>,
    /// `selected` with the chosen `projects` (repeated, or comma-separated): the install
    /// dialog's "choose projects" step. Anything else installs for all projects.
    selection: Option<String>,
}

/// Every `projects` value of a query, repeated keys and commas alike.
fn chosen_projects(raw: Option<&str>) -> Vec<String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "projects")
        .flat_map(|(_, value)| value.split(',').map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The popup's first stop: Vercel creates (or, for the Deploy Button, reuses) the installation
/// and a code, then opens the Redirect URL.
async fn begin(State(sim): State<Sim>, Query(q): Query<BeginQuery>, RawQuery(raw): RawQuery) -> Response {
    let chosen = chosen_projects(raw.as_deref());
    if q.selection.as_deref() == Some("selected") && chosen.is_empty() {
        return (StatusCode::BAD_REQUEST, Html("<h1>Choose at least one project</h1>")).into_response();
    }
    let deployed = match q.deploy {
        Some(_) => match sim.create_project(&q.account) {
            Some(project) => Some(project),
            None => return (StatusCode::NOT_FOUND, "No such account").into_response(),
        },
        None => None,
    };
    let source = match (&deployed, q.source.as_deref()) {
        (Some(_), _) => "deploy-button",
        (None, Some("external")) => "external",
        _ => "marketplace",
    };
    let begin = Begin {
        account_id: &q.account,
        source,
        state: q.state.as_deref(),
        current_project_id: deployed.as_ref().map(|p| p.id.as_str()),
        external_id: q.external_id.as_deref().filter(|_| deployed.is_some()),
        projects: (q.selection.as_deref() == Some("selected")).then_some(chosen.as_slice()),
    };
    match sim.begin(&begin) {
        Some(url) => Redirect::to(&url).into_response(),
        None => (StatusCode::NOT_FOUND, "No such account").into_response(),
    }
}

#[derive(Deserialize)]
struct ChooseProjects {
    account: String,
}

/// The install dialog's "choose projects" step, as Vercel shows it before the popup: all
/// projects, or only the ones ticked.
async fn choose_projects(State(sim): State<Sim>, Query(q): Query<ChooseProjects>) -> Response {
    let snapshot = sim.snapshot();
    let Some(account) = snapshot.accounts.iter().find(|a| a.id == q.account) else {
        return (StatusCode::NOT_FOUND, "No such account").into_response();
    };
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    let boxes: String = sim
        .projects_of(&account.id)
        .iter()
        .map(|p| {
            format!(
                "<li><label><input type=checkbox name=projects value=\"{}\"> {}</label></li>",
                escape(&p.id),
                escape(&p.name)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>Choose projects · Vercel simulator</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem}}ul{{list-style:none;padding:0;max-height:50vh;overflow:auto}}</style>\
         <h1>Install Tether for {name}</h1>\
         <form method=get action=/integrations/tether/begin>\
         <input type=hidden name=account value=\"{id}\">\
         <fieldset><legend>Project access</legend>\
         <label><input type=radio name=selection value=all checked> All projects</label><br>\
         <label><input type=radio name=selection value=selected> Specific projects</label>\
         <ul>{boxes}</ul></fieldset>\
         <button type=submit>Install</button></form>",
        name = escape(&account.name),
        id = escape(&account.id),
    ))
    .into_response()
}

#[derive(Deserialize)]
struct ProjectAccess {
    /// `all`, or `selected` with `projects`.
    selection: String,
    #[serde(default)]
    projects: Vec<String>,
}

/// The owner changes the installation's project access in its settings.
async fn set_project_access(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Json(access): Json<ProjectAccess>,
) -> StatusCode {
    let projects: Vec<&str> = access.projects.iter().map(String::as_str).collect();
    let only = (access.selection == "selected").then_some(projects.as_slice());
    found(sim.set_project_access(&id, only))
}

#[derive(Deserialize)]
struct ChooseScope {
    state: Option<String>,
}

/// The external flow's stop on "Vercel": the user picks the scope, and Vercel echoes `state`.
async fn choose_scope(State(sim): State<Sim>, Query(q): Query<ChooseScope>) -> Response {
    let state = q.state.unwrap_or_default();
    let safe = state.len() <= 256 && state.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b));
    if !safe {
        return (StatusCode::BAD_REQUEST, "Invalid state").into_response();
    }
    let links: String = sim
        .snapshot()
        .accounts
        .iter()
        .map(|a| {
            let kind = if a.hobby { "Hobby team" } else if a.is_team { "team" } else { "personal account" };
            format!(
                "<li><a class=button href=\"/integrations/tether/begin?account={}&amp;source=external&amp;state={state}\">\
                 Install for {} ({kind})</a></li>",
                a.id, a.name
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>Add integration · Vercel simulator</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem}}li{{margin:.5rem 0}}</style>\
         <h1>Add Tether</h1><p>Choose where to install the integration.</p><ul>{links}</ul>"
    ))
    .into_response()
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

fn found(ok: bool) -> StatusCode {
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn uninstall(State(sim): State<Sim>, Path(id): Path<String>) -> StatusCode {
    found(sim.uninstall(&id))
}

#[derive(Deserialize)]
struct Transfer {
    team_id: String,
}

async fn transfer(State(sim): State<Sim>, Path(id): Path<String>, Json(to): Json<Transfer>) -> StatusCode {
    found(sim.transfer(&id, &to.team_id))
}

#[derive(Deserialize)]
struct Member {
    user_id: String,
}

async fn transfer_to_member(State(sim): State<Sim>, Path(id): Path<String>, Json(to): Json<Member>) -> StatusCode {
    found(sim.transfer_to_member(&id, &to.user_id))
}

/// A member leaves the team; answers how many installations that disabled.
async fn leave_team(State(sim): State<Sim>, Path(id): Path<String>, Json(who): Json<Member>) -> Json<usize> {
    Json(sim.leave_team(&id, &who.user_id))
}

#[derive(Deserialize)]
struct Scopes {
    scopes: Vec<String>,
}

async fn confirm_scopes(State(sim): State<Sim>, Path(id): Path<String>, Json(to): Json<Scopes>) -> StatusCode {
    let scopes: Vec<&str> = to.scopes.iter().map(String::as_str).collect();
    found(sim.confirm_scopes(&id, &scopes))
}

async fn remove_project(State(sim): State<Sim>, Path(id): Path<String>) -> StatusCode {
    found(sim.remove_project(&id))
}

async fn rename_project(State(sim): State<Sim>, Path(id): Path<String>, Json(rename): Json<Rename>) -> StatusCode {
    found(sim.rename_project(&id, &rename.name))
}

async fn deploy(State(sim): State<Sim>, Path(id): Path<String>) -> StatusCode {
    found(sim.deploy(&id).is_some())
}

#[derive(Deserialize)]
struct HandMade {
    key: String,
    value: String,
    target: Vec<String>,
}

/// A variable the user adds by hand in Vercel's dashboard (not made by any integration).
async fn add_env(State(sim): State<Sim>, Path(id): Path<String>, Json(var): Json<HandMade>) -> StatusCode {
    let target: Vec<&str> = var.target.iter().map(String::as_str).collect();
    sim.add_manual_env(&id, &var.key, &var.value, &target);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Rename {
    name: String,
}

/// A user renames their team (any text Vercel accepts, markup included).
async fn rename_account(State(sim): State<Sim>, Path(id): Path<String>, Json(rename): Json<Rename>) -> StatusCode {
    found(sim.rename_account(&id, &rename.name))
}

#[derive(Deserialize)]
struct NewTeam {
    id: String,
    name: String,
    projects: usize,
}

/// A team of `projects` projects, for the browser's weight and speed figures on big accounts.
async fn add_team(State(sim): State<Sim>, Json(team): Json<NewTeam>) -> Response {
    let safe = team.id.len() <= 64 && team.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !safe || team.projects > 10_000 || sim.snapshot().accounts.iter().any(|a| a.id == team.id) {
        return (StatusCode::BAD_REQUEST, "Invalid or existing team").into_response();
    }
    Json(sim.add_team(&team.id, &team.name, team.projects)).into_response()
}

/// Faults for browser tests, which cannot reach the simulator's Rust API: the next `count`
/// requests with this method and path prefix get `status`.
#[derive(Deserialize)]
struct NewFaults {
    method: String,
    path_prefix: String,
    status: u16,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

async fn add_faults(State(sim): State<Sim>, Json(faults): Json<NewFaults>) -> StatusCode {
    if !(400..600).contains(&faults.status) || faults.count > 100 {
        return StatusCode::BAD_REQUEST;
    }
    for _ in 0..faults.count {
        sim.fail_next(&faults.method, &faults.path_prefix, faults.status);
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Replay {
    #[serde(default)]
    tamper: bool,
}

async fn replay(State(sim): State<Sim>, Path(id): Path<String>, Query(q): Query<Replay>) -> StatusCode {
    found(sim.deliver(&id, q.tamper))
}

async fn deliveries(State(sim): State<Sim>) -> Json<Vec<crate::Delivery>> {
    Json(sim.deliveries())
}
