//! The part of Vercel's API a native integration calls with the token Vercel handed over at
//! install (`credentials.access_token`), as the simulator plays it. These routes are REST calls
//! like the others: recorded, stamped with rate-limit headers, and faulted by
//! [`Sim::fail_next`] and its kin (see the crate's table).
//!
//! | endpoint | what it checks | what it answers | source |
//! |---|---|---|---|
//! | every call | `Authorization: Bearer` is the installation's own token, the installation active | 401 `{error: {code: "forbidden"}}` | native-protocol.md 1.4 |
//! | `GET /v1/installations/{id}/account` | – | `{name, url, contact: {email, name}}` of the installing account | same; the reference's "Get Account Information" |
//! | `GET /v1/installations/{id}/member/{memberId}` | a member the simulator knows: the installer, or one [`Sim::native_member_changed`] named | `{id, name, email, role, avatar, createdAt}`; 404 for a member who left (`NONE`) or never was | same; "Get Member Information" |
//! | `PATCH /v1/installations/{id}` | `notification` present: `null`, or `{level: info\|warn\|error, title (1 to 100), message?, href?}` (strictly; `status` and `externalId` as the reference has them) | 204; the installation's notification shown on the dashboard | same; "Update Installation" |
//! | `PATCH /v1/installations/{id}/resources/{resourceId}` | a resource of the installation; `status` one of the resource statuses, `notification` as above, `name` | 200 `{}`; shown on the dashboard | same; "Update Resource" |
//! | `PUT /v1/installations/{id}/resources/{resourceId}` | `productId` a product of the integration, `name`, `status` (required, strictly), `secrets` as a provision's, `notification` | 200 `{name}`; the resource appears (or is replaced) marked imported | same; "Import Resource" |
//! | `DELETE /v1/installations/{id}/resources/{resourceId}` | a resource of the installation | 204; gone, with its secrets from every connected project (the docs leave this open; the simulator does what the dashboard's Delete does); 404 for another | same; "Delete Resource" |
//! | `POST /v1/installations/{id}/events` | `{event: {type: "resource.updated", productId, resourceId}}` (a resource of the installation) or `{event: {type: "installation.updated", billingPlanId?}}` | 201 `{}`; for a resource, the simulator then reads it again from the Partner API (`GET`, in the background, as Vercel would) and shows what it answered | same; "Create Event" |
//! | `PUT /v1/installations/{id}/resources/{resourceId}/secrets` | a resource of the installation; `secrets` shaped as a provision's (strictly), `partial?` | 201 `{}`; the secrets replace the resource's (by name with `partial: true`) and are written into every connected project at once; 404 for another resource; 400 for a body of another shape | same; "Update Resource Secrets" |
//!
//! [`Sim::native_member_changed`] sets a member's role and sends `marketplace.member.changed`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, patch, put},
    Json, Router,
};
use serde_json::{json, Value};

use crate::{
    api::{api_error, ApiError},
    state::Sim,
};

/// Served among the REST API's routes (see `api::routes`), under its recorder.
pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/v1/installations/{id}/account", get(account))
        .route("/v1/installations/{id}/member/{member_id}", get(member))
        .route("/v1/installations/{id}/resources/{resource_id}/secrets", put(replace_secrets))
        .route(
            "/v1/installations/{id}/resources/{resource_id}",
            patch(update_resource).put(import_resource).delete(remove_resource),
        )
        .route("/v1/installations/{id}", patch(update_installation))
        .route("/v1/installations/{id}/events", axum::routing::post(event))
}

/// The statuses Vercel documents for a resource and an installation.
const STATUSES: [&str; 7] = ["ready", "pending", "onboarding", "suspended", "resumed", "uninstalled", "error"];

fn bad_request(why: impl Into<String>) -> ApiError {
    api_error(StatusCode::BAD_REQUEST, "bad_request", why.into())
}

/// A notification exactly as Vercel's schema has it; `None` for `null`.
fn notification_of(value: &Value) -> Result<Option<Value>, ApiError> {
    if value.is_null() {
        return Ok(None);
    }
    let known = ["level", "title", "message", "href"];
    let fits = value.as_object().is_some_and(|fields| fields.keys().all(|k| known.contains(&k.as_str())))
        && matches!(value["level"].as_str(), Some("info" | "warn" | "error"))
        && value["title"].as_str().is_some_and(|t| (1..=100).contains(&t.chars().count()))
        && (value["message"].is_null() || value["message"].is_string())
        && (value["href"].is_null() || value["href"].as_str().is_some_and(is_link));
    match fits {
        true => Ok(Some(value.clone())),
        false => Err(bad_request("notification: not {level: info|warn|error, title (1 to 100), message?, href?}")),
    }
}

fn is_link(href: &str) -> bool {
    let target = href.strip_prefix("sso:").unwrap_or(href);
    url::Url::parse(target).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

fn status_of(body: &Value, required: bool) -> Result<Option<String>, ApiError> {
    match body.get("status") {
        None if !required => Ok(None),
        Some(Value::String(status)) if STATUSES.contains(&status.as_str()) => Ok(Some(status.clone())),
        _ => Err(bad_request(format!("status: one of {}", STATUSES.join(", ")))),
    }
}

async fn update_installation(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    status_of(&body, false)?;
    let notification = body.get("notification").map(notification_of).transpose()?;
    if let Some(notification) = notification {
        let mut inner = sim.lock();
        if let Some(installation) = inner.market.installations.iter_mut().find(|i| i.id == id) {
            installation.notification = notification;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn update_resource(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, resource_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    let status = status_of(&body, false)?;
    let notification = body.get("notification").map(notification_of).transpose()?;
    let name = match body.get("name") {
        None => None,
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.clone()),
        Some(_) => return Err(bad_request("name: a non-empty string")),
    };
    let mut inner = sim.lock();
    let Some(resource) = inner.market.resources.iter_mut().find(|r| r.installation_id == id && r.id == resource_id)
    else {
        return Err(api_error(StatusCode::NOT_FOUND, "not_found", "No such resource in this installation."));
    };
    if let Some(status) = status {
        resource.status = status;
    }
    if let Some(notification) = notification {
        resource.notification = notification;
    }
    if let Some(name) = name {
        resource.name = name;
    }
    Ok(Json(json!({})).into_response())
}

async fn event(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    let event = &body["event"];
    match event["type"].as_str() {
        Some("installation.updated") => {}
        Some("resource.updated") => {
            let resource = event["resourceId"].as_str().unwrap_or_default().to_owned();
            let known = sim.native_resources().iter().any(|r| {
                r.installation_id == id
                    && r.id == resource
                    && event["productId"].as_str() == Some(r.product_id.as_str())
            });
            if !known {
                return Err(bad_request("event: resourceId and productId of a resource of this installation"));
            }
            // Vercel reads it again later, not while the integration waits for this answer.
            let (sim, id) = (sim.clone(), id.clone());
            tokio::spawn(async move {
                if let Err(refused) = sim.native_reread(&id, &resource).await {
                    tracing::warn!(why = refused.why, "the simulator could not read a resource again");
                }
            });
        }
        _ => return Err(bad_request("event.type: resource.updated or installation.updated")),
    }
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
}

async fn remove_resource(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, resource_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    match sim.forget_resource(&id, &resource_id) {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(api_error(StatusCode::NOT_FOUND, "not_found", "No such resource in this installation.")),
    }
}

async fn import_resource(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, resource_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    let product = body["productId"].as_str().filter(|p| sim.config.products.iter().any(|known| known.slug == *p));
    let Some(product) = product else { return Err(bad_request("productId: a product of this integration")) };
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return Err(bad_request("name: required"));
    };
    let status = status_of(&body, true)?.unwrap_or_default();
    let notification = body.get("notification").map(notification_of).transpose()?.flatten();
    let secrets = match body.get("secrets") {
        None => Vec::new(),
        Some(_) => crate::marketplace::secrets_of(&body).map_err(|refusal| bad_request(refusal.why))?,
    };
    let plan_id = body["billingPlan"]["id"].as_str().unwrap_or_default().to_owned();
    let resource = crate::marketplace::NativeResource {
        installation_id: id.clone(),
        id: resource_id.clone(),
        product_id: product.to_owned(),
        name: name.to_owned(),
        status,
        plan_id,
        secret_names: secrets.iter().map(|s| s.name.clone()).collect(),
        secrets,
        projects: Vec::new(),
        notification,
        imported: true,
    };
    let mut inner = sim.lock();
    // The same import again replaces it, its connections kept.
    let projects = inner
        .market
        .resources
        .iter()
        .find(|r| r.installation_id == id && r.id == resource_id)
        .map(|r| r.projects.clone())
        .unwrap_or_default();
    inner.market.resources.retain(|r| !(r.installation_id == id && r.id == resource_id));
    inner.market.resources.push(crate::marketplace::NativeResource { projects, ..resource });
    Ok(Json(json!({"name": name})).into_response())
}

impl Sim {
    /// A member's role in a native installation's team changes (`NONE`: they left), and Vercel
    /// tells the integration.
    pub fn native_member_changed(&self, installation_id: &str, member_id: &str, role: &str) -> String {
        self.lock().market.members.insert((installation_id.to_owned(), member_id.to_owned()), role.to_owned());
        self.emit(
            "marketplace.member.changed",
            json!({"configuration": {"id": installation_id}, "installationId": installation_id, "memberId": member_id, "role": role}),
        )
    }

    /// The native calls made so far, as `METHOD path`: the REST calls to these routes.
    pub fn native_api_calls(&self) -> Vec<String> {
        let calls = self.lock().calls.clone();
        calls
            .into_iter()
            .filter(|call| call.path.starts_with("/v1/installations/"))
            .map(|call| format!("{} {}", call.method, call.path))
            .collect()
    }

    /// The account id of the installation the bearer token belongs to, if it is `id`'s.
    fn native_caller(&self, headers: &HeaderMap, id: &str) -> Result<String, ApiError> {
        let token =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let inner = self.lock();
        let installation = inner.market.installations.iter().find(|i| i.id == id && i.status == "active");
        match (installation, token) {
            (Some(installation), Some(token)) if installation.access_token == token => {
                Ok(installation.account_id.clone())
            }
            _ => Err(api_error(StatusCode::UNAUTHORIZED, "forbidden", "The token is not this installation's.")),
        }
    }
}

async fn account(State(sim): State<Sim>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let account_id = sim.native_caller(&headers, &id)?;
    let Some(account) = sim.snapshot().accounts.into_iter().find(|a| a.id == account_id) else {
        return Err(api_error(StatusCode::NOT_FOUND, "not_found", "No such account."));
    };
    let email = account.email.clone().unwrap_or_else(|| format!("{}@sim.example", account.slug));
    Ok(Json(json!({
        "name": account.name,
        "url": format!("https://vercel.com/{}", account.slug),
        "contact": {"email": email, "name": account.name},
    }))
    .into_response())
}

async fn member(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    let installer = sim.native_installations().into_iter().find(|i| i.id == id).map(|i| i.user_id);
    let role = sim.lock().market.members.get(&(id.clone(), member_id.clone())).cloned();
    let role = match (role, installer) {
        (Some(role), _) if role != "NONE" => role,
        (None, Some(installer)) if installer == member_id => "ADMIN".to_owned(),
        _ => return Err(api_error(StatusCode::NOT_FOUND, "not_found", "No such member in this team.")),
    };
    let body: Value = json!({
        "id": member_id, "name": format!("Member {member_id}"), "email": format!("{member_id}@sim.example"),
        "role": role, "avatar": null, "createdAt": 1_700_000_000_000i64,
    });
    Ok(Json(body).into_response())
}

async fn replace_secrets(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, resource_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    sim.native_caller(&headers, &id)?;
    let secrets = crate::marketplace::secrets_of(&body)
        .map_err(|refusal| api_error(StatusCode::BAD_REQUEST, "bad_request", refusal.why))?;
    let partial = body.get("partial").and_then(Value::as_bool).unwrap_or(false);
    let mut inner = sim.lock();
    let inner = &mut *inner;
    let Some(resource) = inner.market.resources.iter_mut().find(|r| r.installation_id == id && r.id == resource_id)
    else {
        return Err(api_error(StatusCode::NOT_FOUND, "not_found", "No such resource in this installation."));
    };
    let old_names = resource.secret_names.clone();
    if partial {
        for secret in secrets {
            resource.secrets.retain(|s| s.name != secret.name);
            resource.secrets.push(secret);
        }
    } else {
        resource.secrets = secrets;
    }
    resource.secret_names = resource.secrets.iter().map(|s| s.name.clone()).collect();
    for project in resource.projects.clone() {
        crate::marketplace::remove_secrets(&mut inner.env, &id, &project, &old_names);
        crate::marketplace::write_secrets(&mut inner.env, &id, &project, &resource.secrets);
    }
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
}
