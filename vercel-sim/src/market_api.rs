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
//! | `PUT /v1/installations/{id}/resources/{resourceId}/secrets` | a resource of the installation; `secrets` shaped as a provision's (strictly), `partial?` | 201 `{}`; the secrets replace the resource's (by name with `partial: true`) and are written into every connected project at once; 404 for another resource; 400 for a body of another shape | same; "Update Resource Secrets" |
//!
//! [`Sim::native_member_changed`] sets a member's role and sends `marketplace.member.changed`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
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
