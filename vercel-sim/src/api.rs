//! The REST subset Tether calls, with Vercel's shapes: bearer tokens (401 when refused),
//! `teamId` scoping, scopes enforced per endpoint, `from`/`until` pagination, batched env
//! upserts that can fail per item, error envelopes and rate-limit headers. The crate docs hold
//! the table of every rule.

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::{now_ms, random_id, CallRecord, Canned, EnvVar, Fault, Paging, Sim};

const ENV_WRITES_PER_MINUTE: u32 = 120;
const GENERAL_LIMIT: u32 = 1000;
const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Variables per page of a project's env list.
pub const ENV_PAGE: usize = 50;

/// The REST API, with `more` routes (the native API's) under the same recorder.
pub fn routes(sim: Sim, more: Router<Sim>) -> Router<Sim> {
    Router::new()
        // The exchange is recorded, and can be faulted, like every REST call.
        .merge(crate::oauth::routes())
        .route("/v2/user", get(user))
        .route("/v2/teams/{team_id}", get(team))
        .route("/v9/projects", get(list_projects_v9))
        .route("/v10/projects", get(list_projects_v10))
        .route("/v9/projects/{id_or_name}", get(one_project))
        .route("/v10/projects/{id_or_name}/env", post(upsert_env).get(list_env))
        .route("/v9/projects/{id_or_name}/env", get(list_env))
        .route("/v9/projects/{id_or_name}/env/{env_id}", delete(delete_env))
        .route("/v1/integrations/configuration/{id}", get(get_configuration).delete(delete_configuration))
        .merge(more)
        .route_layer(middleware::from_fn_with_state(sim, record))
}

/// The caller, as the bearer token and `teamId` establish it.
struct Caller {
    configuration_id: String,
    /// The account whose projects the call may touch: the team, or the user for a personal install.
    account_id: String,
    user_id: String,
    team_id: Option<String>,
    /// The projects the installation may see, when it was limited to some.
    only: Option<Vec<String>>,
}

impl Caller {
    fn may_see(&self, project_id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|p| p == project_id))
    }
}

/// A refusal in Vercel's REST shape: `{"error":{"code","message",…}}`.
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

pub(crate) fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    ApiError { status, body: json!({"error": {"code": code, "message": message.into()}}) }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Scoped {
    team_id: Option<String>,
}

fn forbidden(message: &str) -> ApiError {
    api_error(StatusCode::FORBIDDEN, "forbidden", message)
}

fn not_found(what: &str) -> ApiError {
    api_error(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
}

/// A missing or unknown token: 401, with the flag Vercel's REST errors carry.
fn unauthorized(flag: &str, message: &str) -> ApiError {
    ApiError {
        status: StatusCode::UNAUTHORIZED,
        body: json!({"error": {"code": "forbidden", "message": message, flag: true}}),
    }
}

/// Whether the granted scopes cover `needed` (`read:x` is covered by `read-write:x` too).
fn granted(scopes: &[String], needed: &str) -> bool {
    let (access, id) = needed.split_once(':').unwrap_or(("read", needed));
    scopes.iter().any(|s| s == needed || (access == "read" && *s == format!("read-write:{id}")))
}

/// Checks the token, the installation's state, `teamId` and the endpoint's scope, in that
/// order, each with Vercel's answer.
fn authorize(sim: &Sim, headers: &HeaderMap, team_query: Option<&str>, scope: &str) -> Result<Caller, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("missingToken", "The request is missing an authentication token"))?;
    let inner = sim.lock();
    let configuration_id =
        inner.tokens.get(token).ok_or_else(|| unauthorized("invalidToken", "Not authorized"))?.clone();
    let installation = inner
        .installations
        .iter()
        .find(|i| i.id == configuration_id)
        .ok_or_else(|| unauthorized("invalidToken", "Not authorized"))?;
    // A removed installation's token is dead; a disabled one's still names it, and is refused.
    if installation.status == "removed" {
        return Err(unauthorized("invalidToken", "Not authorized"));
    }
    if installation.status != "active" {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "integration_configuration_disabled",
            "The integration configuration is disabled",
        ));
    }
    // Vercel answers 403 when a team token is used without its teamId, or with another one.
    if installation.team_id.as_deref() != team_query {
        return Err(forbidden("You don't have permission to access this scope"));
    }
    // Vercel's 403 for a scope the integration lacks does not say which scope it was.
    if !granted(&inner.scopes, scope) {
        return Err(forbidden("Not authorized"));
    }
    Ok(Caller {
        configuration_id,
        account_id: installation.team_id.clone().unwrap_or_else(|| installation.user_id.clone()),
        user_id: installation.user_id.clone(),
        team_id: installation.team_id.clone(),
        only: (installation.project_selection == "selected").then(|| installation.projects.clone()),
    })
}

/// Records every REST call and stamps rate-limit headers on every answer.
async fn record(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let configuration_id = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| sim.lock().tokens.get(token).cloned());
    let at_ms = now_ms();
    let mut response = match sim.take_fault(&method, &path) {
        Some(Fault { answer: Some(answer), .. }) => fault_response(answer),
        Some(Fault { answer: None, delay, .. }) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        None => next.run(request).await,
    };
    let latency = sim.lock().quirks.env_write_latency;
    if method == "POST" && path.ends_with("/env") && !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let headers = response.headers_mut();
    if !headers.contains_key("x-ratelimit-limit") {
        let reset = now_ms() / 1000 + 60;
        headers.insert("x-ratelimit-limit", HeaderValue::from(GENERAL_LIMIT));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(GENERAL_LIMIT - 1));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    }
    sim.lock().calls.push(CallRecord {
        at_ms,
        done_ms: now_ms(),
        method,
        path,
        team_id: query.get("teamId").cloned(),
        configuration_id,
        status: response.status().as_u16(),
    });
    response
}

fn fault_response(answer: Canned) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal_server_error",
        _ => "bad_request",
    };
    let mut response = match answer.body {
        Some(body) => (status, body).into_response(),
        None => api_error(status, code, "Injected by the simulator").into_response(),
    };
    let headers = response.headers_mut();
    if status == StatusCode::TOO_MANY_REQUESTS && answer.headers.is_empty() {
        headers.insert("x-ratelimit-limit", HeaderValue::from(ENV_WRITES_PER_MINUTE));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
        headers.insert("x-ratelimit-reset", HeaderValue::from(now_ms() / 1000 + 1));
    }
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    response
}

async fn user(State(sim): State<Sim>, headers: HeaderMap, Query(q): Query<Scoped>) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:user")?;
    let inner = sim.lock();
    let account = inner.accounts.iter().find(|a| a.id == caller.user_id).ok_or_else(|| not_found("User"))?;
    Ok(Json(json!({"user": {
        "id": account.id, "email": account.email, "name": account.name,
        "username": account.slug, "avatar": null, "defaultTeamId": null
    }}))
    .into_response())
}

async fn team(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(team_id): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:team")?;
    if caller.team_id.as_deref() != Some(team_id.as_str()) {
        return Err(forbidden("You don't have permission to access this team"));
    }
    let inner = sim.lock();
    let team = inner.accounts.iter().find(|a| a.id == team_id).ok_or_else(|| not_found("Team"))?;
    // The fields Vercel's team object carries beside the name, which Tether must read past.
    let created = inner.projects.iter().map(|p| p.created_at).min().unwrap_or_else(now_ms);
    Ok(Json(json!({
        "id": team.id,
        "slug": team.slug,
        "name": team.name,
        "avatar": null,
        "description": null,
        "creatorId": team.installer,
        "createdAt": created,
        "updatedAt": created,
        "stagingPrefix": team.slug,
        "membership": {"uid": caller.user_id, "role": "OWNER", "confirmed": true, "createdAt": created},
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectQuery {
    team_id: Option<String>,
    limit: Option<String>,
    until: Option<String>,
    from: Option<String>,
    search: Option<String>,
}

/// `/v10`'s continuation token: opaque to clients, as Vercel documents it.
fn encode_cursor(updated_at: i64) -> String {
    format!("c{}", hex::encode(format!("updatedAt<{updated_at}")))
}

/// Which projects a request continues with, by their `updatedAt`.
#[derive(Clone, Copy)]
enum Window {
    /// Older than this: the simulator's own continuation token, and `/v9`'s `until`.
    Before(i64),
    /// Newer than this: a timestamp given as `from`, which Vercel's reference documents as
    /// "projects updated after the given timestamp".
    After(i64),
}

/// A `from` value: the simulator's own token, or a timestamp (also documented).
fn decode_cursor(token: &str) -> Option<Window> {
    if let Ok(ms) = token.parse::<i64>() {
        return Some(Window::After(ms));
    }
    let text = String::from_utf8(hex::decode(token.strip_prefix('c')?).ok()?).ok()?;
    text.strip_prefix("updatedAt<")?.parse().ok().map(Window::Before)
}

async fn list_projects_v10(state: State<Sim>, headers: HeaderMap, query: Query<ProjectQuery>) -> ApiResult {
    list_projects(state, headers, query, 10)
}

async fn list_projects_v9(state: State<Sim>, headers: HeaderMap, query: Query<ProjectQuery>) -> ApiResult {
    list_projects(state, headers, query, 9)
}

/// `/v10` continues with `from` (an opaque token) and ignores `until`; `/v9` continues with
/// `until` (a timestamp) and ignores `from`. The `paging` quirk plays older or broken servers.
fn list_projects(State(sim): State<Sim>, headers: HeaderMap, Query(q): Query<ProjectQuery>, version: u8) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:project")?;
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: `limit` should be less than or equal to 100.",
            ))
        }
    };
    let paging = sim.lock().quirks.paging;
    let opaque = version == 10 && paging == Paging::Documented;
    let cursor = match (version, paging) {
        (_, Paging::IgnoresCursor) => None,
        (10, Paging::Documented) => match q.from.as_deref() {
            None => None,
            Some(token) => Some(decode_cursor(token).ok_or_else(|| {
                api_error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `from` is not a valid cursor.")
            })?),
        },
        (10, _) => None,
        _ => match q.until.as_deref().map(str::parse::<i64>) {
            None => None,
            Some(Ok(ms)) => Some(Window::Before(ms)),
            Some(Err(_)) => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "Invalid request: `until` must be a number.",
                ))
            }
        },
    };
    let inner = sim.lock();
    let lists_all = inner.quirks.lists_unselected_projects;
    let in_window = |updated_at: i64| match cursor {
        None => true,
        Some(Window::Before(ms)) => updated_at < ms,
        Some(Window::After(ms)) => updated_at > ms,
    };
    let mut matching: Vec<_> = inner
        .projects
        .iter()
        .filter(|p| p.account_id == caller.account_id)
        .filter(|p| lists_all || caller.may_see(&p.id))
        .filter(|p| in_window(p.updated_at))
        .filter(|p| q.search.as_deref().is_none_or(|s| p.name.contains(s)))
        .collect();
    matching.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    let more = matching.len() > limit;
    let page: Vec<_> = matching.into_iter().take(limit).collect();
    let stamp = |ms: i64| if opaque { json!(encode_cursor(ms)) } else { json!(ms) };
    let next = if more { page.last().map(|p| stamp(p.updated_at)) } else { None };
    Ok(Json(json!({
        "projects": page,
        "pagination": {"count": page.len(), "next": next, "prev": page.first().map(|p| stamp(p.updated_at))}
    }))
    .into_response())
}

/// The caller's project by id or name. One the installation was not given access to is
/// refused with 403, as Vercel's permission model has it for a project outside the selection.
fn find_project(sim: &Sim, caller: &Caller, id_or_name: &str) -> Result<crate::Project, ApiError> {
    let project = sim
        .lock()
        .projects
        .iter()
        .find(|p| p.account_id == caller.account_id && (p.id == id_or_name || p.name == id_or_name))
        .cloned()
        .ok_or_else(|| not_found("Project"))?;
    if !caller.may_see(&project.id) {
        return Err(forbidden("The integration does not have access to this project"));
    }
    Ok(project)
}

async fn one_project(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:project")?;
    Ok(Json(find_project(&sim, &caller, &id_or_name)?).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertQuery {
    team_id: Option<String>,
    upsert: Option<String>,
}

struct ValidItem {
    key: String,
    value: String,
    kind: String,
    target: Vec<String>,
    comment: Option<String>,
}

/// Vercel's limit on an env var's `comment`.
pub const MAX_COMMENT_CHARS: usize = 500;

/// The body's schema, checked before any item is written, as Vercel's request validation does:
/// a `comment` that is not a string of at most 500 characters refuses the whole request.
fn check_comments(items: &[Value]) -> Result<(), ApiError> {
    for item in items {
        match item.get("comment") {
            None | Some(Value::Null) => {}
            Some(Value::String(comment)) if comment.chars().count() <= MAX_COMMENT_CHARS => {}
            Some(_) => {
                return Err(api_error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("Invalid request: `comment` should be a string of at most {MAX_COMMENT_CHARS} characters."),
                ))
            }
        }
    }
    Ok(())
}

/// Why one item of an env write is refused, in Vercel's codes.
fn check_env_item(item: &Value) -> Result<ValidItem, (&'static str, String)> {
    let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
    let valid_key = !key.is_empty()
        && key.len() <= 256
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if !valid_key {
        return Err(("env_key_invalid_characters", format!("The key `{key}` is invalid")));
    }
    let value = item.get("value").and_then(Value::as_str).ok_or(("bad_request", "Missing value".to_string()))?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(("env_value_invalid_length", format!("The value of `{key}` is too long")));
    }
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    if !["encrypted", "sensitive", "plain", "system", "secret"].contains(&kind) {
        return Err(("bad_request", format!("Invalid type for `{key}`")));
    }
    // Vercel takes `target` as an array or as one string.
    let target: Vec<String> = match item.get("target") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    if target.is_empty() || target.iter().any(|t| !["production", "preview", "development"].contains(&t.as_str())) {
        return Err(("bad_request", format!("Invalid target for `{key}`")));
    }
    if kind == "sensitive" && target.iter().any(|t| t == "development") {
        return Err(("env_sensitive_development", format!("Sensitive variable `{key}` cannot target development")));
    }
    let comment = item.get("comment").and_then(Value::as_str).map(str::to_owned);
    Ok(ValidItem { key: key.into(), value: value.into(), kind: kind.into(), target, comment })
}

async fn upsert_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<UpsertQuery>,
    Json(body): Json<Value>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read-write:project-env-vars")?;
    let project = find_project(&sim, &caller, &id_or_name)?;
    let now = now_ms();
    let mut inner = sim.lock();
    let window = inner.env_rate.entry(caller.account_id.clone()).or_insert((now / 1000, 0));
    if now / 1000 - window.0 >= 60 {
        *window = (now / 1000, 0);
    }
    let reset = window.0 + 60;
    if window.1 >= ENV_WRITES_PER_MINUTE {
        let mut response =
            api_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests - try again later")
                .into_response();
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(ENV_WRITES_PER_MINUTE));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
        return Ok(response);
    }
    window.1 += 1;
    let remaining = ENV_WRITES_PER_MINUTE - window.1;
    let single = body.is_object();
    let items: Vec<Value> = match body {
        Value::Array(items) => items,
        item @ Value::Object(_) => vec![item],
        _ => return Err(api_error(StatusCode::BAD_REQUEST, "bad_request", "Invalid body")),
    };
    check_comments(&items)?;
    let upsert = q.upsert.as_deref() == Some("true");
    let vars = inner.env.entry(project.id.clone()).or_default();
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for item in &items {
        let ValidItem { key, value, kind, target, comment } = match check_env_item(item) {
            Ok(parts) => parts,
            Err((code, message)) => {
                failed.push(json!({"error": {"code": code, "message": message, "key": item.get("key")}}));
                continue;
            }
        };
        let clash = vars.iter().position(|v| v.key == key && v.target.iter().any(|t| target.contains(t)));
        let var = match (clash, upsert) {
            (Some(index), true) if vars[index].target == target => {
                let existing = &mut vars[index];
                existing.value = value;
                existing.kind = kind;
                existing.comment = comment;
                existing.updated_at = now;
                existing.configuration_id = Some(caller.configuration_id.clone());
                existing.clone()
            }
            // Vercel's code for a duplicate key, with the id of the variable already there.
            (Some(index), _) => {
                failed.push(json!({"error": {
                    "code": "ENV_ALREADY_EXISTS",
                    "message": format!("A variable with the name `{key}` already exists for the target"),
                    "key": key,
                    "envVarId": vars[index].id,
                    "target": target,
                }}));
                continue;
            }
            (None, _) => {
                let created_at = crate::state::next_env_stamp(vars);
                let var = EnvVar {
                    id: random_id("env_", 16),
                    key,
                    value,
                    kind,
                    target,
                    configuration_id: Some(caller.configuration_id.clone()),
                    comment,
                    created_at,
                    updated_at: created_at,
                };
                vars.push(var.clone());
                var
            }
        };
        created.push(var);
    }
    let sparse = inner.quirks.env_answers_without_ids;
    let created: Vec<Value> = created.iter().map(|var| created_json(var, sparse)).collect();
    // One created item may come back as an object rather than an array: always for a single
    // item sent, and with the sparse quirk for any batch that created just one.
    let created = if (single || sparse) && created.len() == 1 { created[0].clone() } else { json!(created) };
    let mut response = (StatusCode::CREATED, Json(json!({"created": created, "failed": failed}))).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(ENV_WRITES_PER_MINUTE));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    Ok(response)
}

/// One created variable as the answer shows it; with the sparse quirk, as the schema allows
/// at its thinnest: no `id`, a single target as a plain string.
fn created_json(var: &EnvVar, sparse: bool) -> Value {
    let mut value = json!(var);
    if sparse {
        if let Some(object) = value.as_object_mut() {
            object.remove("id");
            if var.target.len() == 1 {
                object.insert("target".into(), json!(var.target[0]));
            }
        }
    }
    value
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvQuery {
    team_id: Option<String>,
    until: Option<String>,
}

/// `{envs, pagination}` when there are variables; `{}` when there are none (both are in
/// Vercel's schema). Newest first, [`ENV_PAGE`] at a time; `pagination.next` is the `createdAt`
/// of the page's last variable and `until` continues before it. Vercel's reference names no
/// cursor parameter for this list, so the simulator takes the one its other timestamp-paged
/// lists take, and ignores `from`.
async fn list_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<EnvQuery>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:project-env-vars")?;
    let project = find_project(&sim, &caller, &id_or_name)?;
    let until = match q.until.as_deref().map(str::parse::<i64>) {
        None => i64::MAX,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => {
            return Err(api_error(StatusCode::BAD_REQUEST, "bad_request", "Invalid request: `until` must be a number."))
        }
    };
    let mut envs = sim.lock().env.get(&project.id).cloned().unwrap_or_default();
    if envs.is_empty() {
        return Ok(Json(json!({})).into_response());
    }
    envs.retain(|v| v.created_at < until);
    envs.sort_by_key(|v| std::cmp::Reverse(v.created_at));
    let more = envs.len() > ENV_PAGE;
    envs.truncate(ENV_PAGE);
    let next = if more { envs.last().map(|v| v.created_at) } else { None };
    let pagination = json!({"count": envs.len(), "next": next, "prev": envs.first().map(|v| v.created_at)});
    Ok(Json(json!({"envs": envs, "pagination": pagination})).into_response())
}

async fn delete_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id_or_name, env_id)): Path<(String, String)>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read-write:project-env-vars")?;
    let project = find_project(&sim, &caller, &id_or_name)?;
    let mut inner = sim.lock();
    let vars = inner.env.entry(project.id).or_default();
    let index = vars.iter().position(|v| v.id == env_id).ok_or_else(|| not_found("Env var"))?;
    let removed = vars.remove(index);
    Ok(Json(removed).into_response())
}

async fn get_configuration(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read:integration-configuration")?;
    if caller.configuration_id != id {
        return Err(not_found("Configuration"));
    }
    let inner = sim.lock();
    let installation = inner.installations.iter().find(|i| i.id == id).ok_or_else(|| not_found("Configuration"))?;
    Ok(Json(json!({
        "id": installation.id,
        "teamId": installation.team_id,
        "userId": installation.user_id,
        "status": installation.status,
        "projectSelection": installation.project_selection,
        "projects": crate::state::project_list(&installation.projects, inner.quirks.projects_as_objects),
        "scopes": inner.scopes,
        "source": installation.source,
        "createdAt": installation.created_at,
    }))
    .into_response())
}

/// Vendor-side uninstall: 204, the installation and the variables it created go, and Vercel
/// then sends the signed `integration-configuration.removed` webhook, as for a dashboard uninstall.
async fn delete_configuration(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref(), "read-write:integration-configuration")?;
    if caller.configuration_id != id {
        return Err(not_found("Configuration"));
    }
    sim.uninstall(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
