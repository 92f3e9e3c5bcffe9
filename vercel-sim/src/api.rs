//! The REST subset Tether calls, with Vercel's shapes: `teamId` scoping, `until` pagination,
//! batched env upserts that can fail per item, error envelopes and rate-limit headers.

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::{now_ms, random_id, CallRecord, EnvVar, Fault, Sim};

const ENV_WRITES_PER_MINUTE: u32 = 120;
const GENERAL_LIMIT: u32 = 1000;
const MAX_VALUE_BYTES: usize = 64 * 1024;

pub fn routes(sim: Sim) -> Router<Sim> {
    Router::new()
        // The exchange is recorded, and can be faulted, like every REST call.
        .merge(crate::oauth::routes())
        .route("/v2/user", get(user))
        .route("/v2/teams/{team_id}", get(team))
        .route("/v9/projects", get(list_projects))
        .route("/v10/projects", get(list_projects))
        .route("/v9/projects/{id_or_name}", get(one_project))
        .route("/v10/projects/{id_or_name}/env", post(upsert_env))
        .route("/v9/projects/{id_or_name}/env", get(list_env))
        .route("/v9/projects/{id_or_name}/env/{env_id}", delete(delete_env))
        .route("/v1/integrations/configuration/{id}", get(get_configuration).delete(delete_configuration))
        .route_layer(middleware::from_fn_with_state(sim, record))
}

/// The caller, as the bearer token and `teamId` establish it.
struct Caller {
    configuration_id: String,
    /// The account whose projects the call may touch: the team, or the user for a personal install.
    account_id: String,
    user_id: String,
    team_id: Option<String>,
}

struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": {"code": self.1, "message": self.2}}))).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Scoped {
    team_id: Option<String>,
}

fn forbidden(message: &str) -> ApiError {
    ApiError(StatusCode::FORBIDDEN, "forbidden", message.into())
}

fn not_found(what: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
}

fn authorize(sim: &Sim, headers: &HeaderMap, team_query: Option<&str>) -> Result<Caller, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| forbidden("Missing or malformed Authorization header"))?;
    let inner = sim.lock();
    let configuration_id = inner.tokens.get(token).ok_or_else(|| forbidden("The token is not valid"))?.clone();
    let installation = inner
        .installations
        .iter()
        .find(|i| i.id == configuration_id)
        .ok_or_else(|| forbidden("The token is not valid"))?;
    if installation.status != "active" {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "integration_configuration_disabled",
            "The integration configuration is disabled".into(),
        ));
    }
    // Vercel answers 403 when a team token is used without its teamId, or with another one.
    if installation.team_id.as_deref() != team_query {
        return Err(forbidden("You don't have permission to access this scope"));
    }
    Ok(Caller {
        configuration_id,
        account_id: installation.team_id.clone().unwrap_or_else(|| installation.user_id.clone()),
        user_id: installation.user_id.clone(),
        team_id: installation.team_id.clone(),
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
        Some(Fault { status: Some(status), .. }) => fault_response(status),
        Some(Fault { status: None, delay, .. }) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    if !headers.contains_key("x-ratelimit-limit") {
        let reset = now_ms() / 1000 + 60;
        headers.insert("x-ratelimit-limit", HeaderValue::from(GENERAL_LIMIT));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(GENERAL_LIMIT - 1));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    }
    sim.lock().calls.push(CallRecord {
        at_ms,
        method,
        path,
        team_id: query.get("teamId").cloned(),
        configuration_id,
        status: response.status().as_u16(),
    });
    response
}

fn fault_response(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal_server_error",
        _ => "bad_request",
    };
    let mut response = ApiError(status, code, "Injected by the simulator".into()).into_response();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(ENV_WRITES_PER_MINUTE));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(0));
        headers.insert("x-ratelimit-reset", HeaderValue::from(now_ms() / 1000 + 1));
    }
    response
}

async fn user(State(sim): State<Sim>, headers: HeaderMap, Query(q): Query<Scoped>) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
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
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
    if caller.team_id.as_deref() != Some(team_id.as_str()) {
        return Err(forbidden("You don't have permission to access this team"));
    }
    let inner = sim.lock();
    let team = inner.accounts.iter().find(|a| a.id == team_id).ok_or_else(|| not_found("Team"))?;
    Ok(Json(json!({"id": team.id, "slug": team.slug, "name": team.name, "avatar": null})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectQuery {
    team_id: Option<String>,
    limit: Option<String>,
    until: Option<String>,
    search: Option<String>,
}

async fn list_projects(State(sim): State<Sim>, headers: HeaderMap, Query(q): Query<ProjectQuery>) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: `limit` should be less than or equal to 100.".into(),
            ))
        }
    };
    let until = match q.until.as_deref().map(str::parse::<i64>) {
        None => i64::MAX,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => return Err(ApiError(StatusCode::BAD_REQUEST, "bad_request", "Invalid `until`".into())),
    };
    let inner = sim.lock();
    let mut matching: Vec<_> = inner
        .projects
        .iter()
        .filter(|p| p.account_id == caller.account_id)
        .filter(|p| p.updated_at < until)
        .filter(|p| q.search.as_deref().is_none_or(|s| p.name.contains(s)))
        .collect();
    matching.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    let more = matching.len() > limit;
    let page: Vec<_> = matching.into_iter().take(limit).collect();
    let next = if more { page.last().map(|p| p.updated_at) } else { None };
    Ok(Json(json!({
        "projects": page,
        "pagination": {"count": page.len(), "next": next, "prev": page.first().map(|p| p.updated_at)}
    }))
    .into_response())
}

fn find_project(sim: &Sim, caller: &Caller, id_or_name: &str) -> Result<crate::Project, ApiError> {
    sim.lock()
        .projects
        .iter()
        .find(|p| p.account_id == caller.account_id && (p.id == id_or_name || p.name == id_or_name))
        .cloned()
        .ok_or_else(|| not_found("Project"))
}

async fn one_project(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
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
    let target: Vec<String> = item
        .get("target")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if target.is_empty() || target.iter().any(|t| !["production", "preview", "development"].contains(&t.as_str())) {
        return Err(("bad_request", format!("Invalid target for `{key}`")));
    }
    if kind == "sensitive" && target.iter().any(|t| t == "development") {
        return Err(("env_sensitive_development", format!("Sensitive variable `{key}` cannot target development")));
    }
    Ok(ValidItem { key: key.into(), value: value.into(), kind: kind.into(), target })
}

async fn upsert_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<UpsertQuery>,
    Json(body): Json<Value>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
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
            ApiError(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests - try again later".into())
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
        _ => return Err(ApiError(StatusCode::BAD_REQUEST, "bad_request", "Invalid body".into())),
    };
    let upsert = q.upsert.as_deref() == Some("true");
    let vars = inner.env.entry(project.id.clone()).or_default();
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for item in &items {
        let ValidItem { key, value, kind, target } = match check_env_item(item) {
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
                existing.updated_at = now;
                existing.configuration_id = Some(caller.configuration_id.clone());
                existing.clone()
            }
            (Some(_), _) => {
                failed.push(json!({"error": {
                    "code": "ENV_CONFLICT",
                    "message": format!("A variable with the name `{key}` already exists for the target"),
                    "key": key,
                    "target": target,
                }}));
                continue;
            }
            (None, _) => {
                let var = EnvVar {
                    id: random_id("env_", 16),
                    key,
                    value,
                    kind,
                    target,
                    configuration_id: Some(caller.configuration_id.clone()),
                    created_at: now,
                    updated_at: now,
                };
                vars.push(var.clone());
                var
            }
        };
        created.push(var);
    }
    let created = if single && created.len() == 1 { json!(created[0]) } else { json!(created) };
    let mut response = (StatusCode::CREATED, Json(json!({"created": created, "failed": failed}))).into_response();
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(ENV_WRITES_PER_MINUTE));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    Ok(response)
}

async fn list_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id_or_name): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
    let project = find_project(&sim, &caller, &id_or_name)?;
    let envs = sim.lock().env.get(&project.id).cloned().unwrap_or_default();
    Ok(Json(json!({"envs": envs})).into_response())
}

async fn delete_env(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id_or_name, env_id)): Path<(String, String)>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
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
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
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
        "projectSelection": "all",
        "projects": [],
        "scopes": ["read:project", "read-write:project-env-vars", "read:team", "read:user", "read-write:integration-configuration"],
        "source": installation.source,
        "createdAt": installation.created_at,
    }))
    .into_response())
}

async fn delete_configuration(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Scoped>,
) -> ApiResult {
    let caller = authorize(&sim, &headers, q.team_id.as_deref())?;
    if caller.configuration_id != id {
        return Err(not_found("Configuration"));
    }
    let mut inner = sim.lock();
    if let Some(installation) = inner.installations.iter_mut().find(|i| i.id == id) {
        installation.status = "removed".into();
    }
    // Vercel removes the env vars an installation created when it goes.
    for vars in inner.env.values_mut() {
        vars.retain(|v| v.configuration_id.as_deref() != Some(id.as_str()));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
