//! The part of Vercel's API a native integration calls with the token Vercel handed over at
//! install (`credentials.access_token`), as the simulator plays it. Every call it takes is
//! recorded for the dashboard and tests.
//!
//! | endpoint | what it checks | what it answers | source |
//! |---|---|---|---|
//! | every call | `Authorization: Bearer` is the installation's own token, the installation active | 401 `{error: {code: "forbidden"}}` | native-protocol.md 1.4 |
//! | every call, [`Sim::fail_native_calls`] | – | the statuses queued, in turn (a 429 with `Retry-After: 1`) | REST API reference, rate limits |
//! | `GET /v1/installations/{id}/account` | – | `{name, url, contact: {email, name}}` of the installing account | same; the reference's "Get Account Information" |
//! | `GET /v1/installations/{id}/member/{memberId}` | a member the simulator knows: the installer, or one [`Sim::native_member_changed`] named | `{id, name, email, role, avatar, createdAt}`; 404 for a member who left (`NONE`) or never was | same; "Get Member Information" |
//!
//! | `PUT /v1/installations/{id}/resources/{resourceId}/secrets` | a resource of the installation; `secrets` shaped as a provision's (strictly), `partial?` | 201 `{}`; the secrets replace the resource's (by name with `partial: true`) and are written into every connected project at once; 404 for another resource; 400 for a body of another shape | same; "Update Resource Secrets" |
//!
//! [`Sim::native_member_changed`] sets a member's role and sends `marketplace.member.changed`.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use crate::state::Sim;

pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/v1/installations/{id}/account", get(account))
        .route("/v1/installations/{id}/member/{member_id}", get(member))
        .route("/v1/installations/{id}/resources/{resource_id}/secrets", axum::routing::put(replace_secrets))
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
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

    /// The native calls made so far, as `METHOD path`.
    pub fn native_api_calls(&self) -> Vec<String> {
        self.lock().market.api_calls.clone()
    }

    /// The next native calls answer these statuses instead (a 429 with `Retry-After: 1`), as a
    /// busy or failing Vercel would; each is recorded like any call.
    pub fn fail_native_calls(&self, statuses: &[u16]) {
        self.lock().market.api_faults.extend(statuses.iter().copied());
    }

    /// The account id of the installation the bearer token belongs to, if it is `id`'s; or the
    /// answer a queued fault or a foreign token gets.
    fn native_caller(&self, headers: &HeaderMap, id: &str, call: String) -> Result<String, Box<Response>> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let mut inner = self.lock();
        inner.market.api_calls.push(call);
        if let Some(status) = inner.market.api_faults.pop_front() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut answer = refused(status, "simulated", "A fault the test asked for.");
            if status == StatusCode::TOO_MANY_REQUESTS {
                answer.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            return Err(Box::new(answer));
        }
        let installation = inner.market.installations.iter().find(|i| i.id == id && i.status == "active");
        match (installation, token) {
            (Some(installation), Some(token)) if installation.access_token == token => {
                Ok(installation.account_id.clone())
            }
            _ => Err(Box::new(refused(StatusCode::UNAUTHORIZED, "forbidden", "The token is not this installation's."))),
        }
    }
}

async fn account(State(sim): State<Sim>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let account_id = match sim.native_caller(&headers, &id, format!("GET /v1/installations/{id}/account")) {
        Ok(account_id) => account_id,
        Err(answer) => return *answer,
    };
    let Some(account) = sim.snapshot().accounts.into_iter().find(|a| a.id == account_id) else {
        return refused(StatusCode::NOT_FOUND, "not_found", "No such account.");
    };
    let email = account.email.clone().unwrap_or_else(|| format!("{}@sim.example", account.slug));
    Json(json!({
        "name": account.name,
        "url": format!("https://vercel.com/{}", account.slug),
        "contact": {"email": email, "name": account.name},
    }))
    .into_response()
}

async fn member(State(sim): State<Sim>, headers: HeaderMap, Path((id, member_id)): Path<(String, String)>) -> Response {
    let call = format!("GET /v1/installations/{id}/member/{member_id}");
    if let Err(answer) = sim.native_caller(&headers, &id, call) {
        return *answer;
    }
    let installer = sim.native_installations().into_iter().find(|i| i.id == id).map(|i| i.user_id);
    let role = sim.lock().market.members.get(&(id.clone(), member_id.clone())).cloned();
    let role = match (role, installer) {
        (Some(role), _) if role != "NONE" => role,
        (None, Some(installer)) if installer == member_id => "ADMIN".to_owned(),
        _ => return refused(StatusCode::NOT_FOUND, "not_found", "No such member in this team."),
    };
    let body: Value = json!({
        "id": member_id, "name": format!("Member {member_id}"), "email": format!("{member_id}@sim.example"),
        "role": role, "avatar": null, "createdAt": 1_700_000_000_000i64,
    });
    Json(body).into_response()
}

async fn replace_secrets(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path((id, resource_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let call = format!("PUT /v1/installations/{id}/resources/{resource_id}/secrets");
    if let Err(answer) = sim.native_caller(&headers, &id, call) {
        return *answer;
    }
    let secrets = match crate::marketplace::secrets_of(&body) {
        Ok(secrets) => secrets,
        Err(refusal) => return refused(StatusCode::BAD_REQUEST, "bad_request", &refusal.why),
    };
    let partial = body.get("partial").and_then(Value::as_bool).unwrap_or(false);
    let mut inner = sim.lock();
    let inner = &mut *inner;
    let Some(resource) = inner.market.resources.iter_mut().find(|r| r.installation_id == id && r.id == resource_id)
    else {
        return refused(StatusCode::NOT_FOUND, "not_found", "No such resource in this installation.");
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
    (StatusCode::CREATED, Json(json!({}))).into_response()
}
