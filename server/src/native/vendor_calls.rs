//! The contract's calls from the vendor to Tether (`docs/provider-contract.yaml`, "Calls you make
//! to Tether"): what changed on the vendor's side of a native installation, for Vercel to show.
//! `POST {TETHER_PUBLIC_URL}/provider/v1/…`, signed the way Tether signs its own calls to the
//! vendor (Standard Webhooks, `TETHER_PROVIDER_SECRETS`):
//!
//! | path | what the vendor says | what Vercel hears (from `native::vercel_jobs`) |
//! |---|---|---|
//! | `resources/status` | a resource's status and notification | `PATCH .../resources/{rid}` |
//! | `resources/secrets` | it replaced a resource's secrets | `PUT .../resources/{rid}/secrets` |
//! | `resources/import` | a resource the customer already had belongs to the installation | `PUT .../resources/{rid}` |
//! | `resources/changed` | it renamed a resource, changed its plan or metadata | `POST .../events` (`resource.updated`): Vercel reads it again from the Partner API |
//! | `installation/notification` | the installation's notification, or none | `PATCH /v1/installations/{id}` |
//!
//! Each call is checked (signature, the action its body names, the account the installation acts
//! for, the vendor's resource in it), kept, and answered `202` once a job will tell Vercel,
//! retried like every Vercel call and across restarts. The `webhook-id` names the job: a
//! repeated call queues nothing more, and a call older than what Tether holds changes nothing.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Map, Value};

use super::resources::{checked_change, digest, new_id, product, resource_plan, Asked, MAX_NAME};
use crate::{
    params::ConfigurationId,
    provider::outbox::job_id,
    signing,
    state::AppState,
    store::{
        installations::InstallationStatus,
        native::{NativeOrigin, NativeResourceRow, NativeResourceStatus},
        now_ms,
        provider_jobs::{self, JobKind},
        vendor_said, StoreError,
    },
};

/// Where the calls arrive, under Tether's public URL.
pub const BASE_PATH: &str = "/provider/v1";

/// The statuses Vercel shows for a resource (native-protocol.md 1.6; `uninstalled` is an
/// installation's).
const STATUSES: [&str; 6] = ["ready", "pending", "onboarding", "suspended", "resumed", "error"];
/// Vercel's limit on a notification's title.
const MAX_TITLE: usize = 100;
const MAX_MESSAGE: usize = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Status,
    Secrets,
    Import,
    Changed,
    Notification,
}

impl Action {
    fn of_path(group: &str, verb: &str) -> Option<Self> {
        match (group, verb) {
            ("resources", "status") => Some(Action::Status),
            ("resources", "secrets") => Some(Action::Secrets),
            ("resources", "import") => Some(Action::Import),
            ("resources", "changed") => Some(Action::Changed),
            ("installation", "notification") => Some(Action::Notification),
            _ => None,
        }
    }

    /// The `action` its body must name.
    fn name(self) -> &'static str {
        match self {
            Action::Status => "resources.status",
            Action::Secrets => "resources.secrets",
            Action::Import => "resources.import",
            Action::Changed => "resources.changed",
            Action::Notification => "installation.notification",
        }
    }
}

/// A refusal in the contract's error shape, `{"error": {"code", "message"}}`.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refused {
    Refused { status, code, message: message.into() }
}

fn bad_request(message: impl Into<String>) -> Refused {
    refused(StatusCode::BAD_REQUEST, "bad_request", message)
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "a vendor's call could not reach the database");
        refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Tether could not keep this now; send it again")
    }
}

impl From<sqlx::Error> for Refused {
    fn from(error: sqlx::Error) -> Self {
        StoreError::from(error).into()
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

/// `POST /provider/v1/{group}/{verb}`.
pub async fn receive(
    State(state): State<AppState>,
    Path((group, verb)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = match handle(&state, &group, &verb, &headers, &body).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        Err(refusal) => refusal.into_response(),
    };
    let action = Action::of_path(&group, &verb).map_or("unknown", Action::name);
    crate::telemetry::vendor_call(action, response.status().as_u16());
    response
}

/// The call as its headers sign it.
struct Signed<'a> {
    id: &'a str,
    /// Unix seconds.
    timestamp: i64,
}

fn signed<'a>(state: &AppState, headers: &'a HeaderMap, body: &[u8]) -> Result<Signed<'a>, Refused> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = header("webhook-id").filter(|id| (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()));
    let timestamp = header("webhook-timestamp").and_then(|t| t.parse::<i64>().ok());
    let unsigned = || {
        tracing::warn!(security_event = "vendor_call_refused", "a call to /provider/v1 was not signed by the vendor");
        refused(StatusCode::UNAUTHORIZED, "bad_signature", "the call is not signed by a key Tether shares with you")
    };
    let (Some(id), Some(timestamp), Some(signature)) = (id, timestamp, header("webhook-signature")) else {
        return Err(unsigned());
    };
    let now = now_ms() / 1_000;
    if !signing::verify(&state.settings.provider_keys, id, timestamp, signature, body, now) {
        return Err(unsigned());
    }
    Ok(Signed { id, timestamp })
}

async fn handle(state: &AppState, group: &str, verb: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refused> {
    // The built-in provider is Tether itself: nobody else may say anything.
    if state.settings.provider_keys.is_empty() {
        return Err(refused(StatusCode::NOT_FOUND, "not_enabled", "this Tether runs its built-in provider"));
    }
    let action = Action::of_path(group, verb)
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "unknown_action", "no such call; see the contract"))?;
    let signed = signed(state, headers, body)?;
    let body: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| bad_request("the body is not a JSON object"))?;
    if body["action"] != action.name() {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "wrong_action",
            format!("this endpoint's action is `{}`", action.name()),
        ));
    }
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let required = |name: &'static str| {
        text(name).filter(|v| !v.is_empty()).ok_or_else(|| bad_request(format!("`{name}` is required")))
    };
    let account = required("account")?;
    let installation = installation_of(state, required("installation_id")?, account).await?;
    let said_at = signed.timestamp * 1_000;
    let job = job_id("vendor", &[installation.as_str(), action.name(), signed.id]);
    // What the call says is kept, and its push queued, in one transaction.
    let (kind, job_body, mut tx) = match action {
        Action::Changed => return changed(state, &installation, account, &body, &job).await,
        Action::Import => return import(state, &installation, account, &body, &job, said_at).await,
        Action::Status => {
            let status = text("status")
                .filter(|s| STATUSES.contains(s))
                .ok_or_else(|| bad_request(format!("`status` must be one of {}", STATUSES.join(", "))))?;
            let notification = notification_of(body.get("notification"))?.map(|n| n.to_string());
            let vendor_id = required("resource_id")?;
            let mut tx = state.store.begin().await?;
            let said =
                vendor_said::say_resource(&mut tx, &installation, vendor_id, status, notification.as_deref(), said_at);
            let resource = said.await?.ok_or_else(unknown_resource)?;
            (JobKind::PushStatus, json!({"installation_id": installation.as_str(), "resource_id": resource}), tx)
        }
        Action::Secrets => {
            let vendor_id = required("resource_id")?;
            let mut tx = state.store.begin().await?;
            let resource =
                vendor_said::live_id(&mut tx, &installation, vendor_id).await?.ok_or_else(unknown_resource)?;
            let job_body = json!({"installation_id": installation.as_str(), "resource_id": resource, "reset": true});
            (JobKind::PushSecrets, job_body, tx)
        }
        Action::Notification => {
            let notification = match body.get("notification") {
                None => return Err(bad_request("`notification` is required: an object, or null to clear it")),
                given => notification_of(given)?.map(|n| n.to_string()),
            };
            let mut tx = state.store.begin().await?;
            vendor_said::say_installation(&mut tx, &installation, notification.as_deref(), said_at).await?;
            (JobKind::PushInstallation, json!({"installation_id": installation.as_str()}), tx)
        }
    };
    provider_jobs::enqueue(&mut tx, &job, kind, account, &job_body.to_string()).await?;
    tx.commit().await?;
    tracing::info!(configuration_id = %installation, action = action.name(), webhook_id = signed.id, "the vendor told Tether a change for Vercel");
    Ok(())
}

fn unknown_resource() -> Refused {
    refused(StatusCode::NOT_FOUND, "unknown_resource", "no such resource of yours in this installation")
}

/// The live native installation the call names, when it acts for `account`: accounts are walls,
/// so another account's installation is as unknown as one that never was.
async fn installation_of(state: &AppState, id: &str, account: &str) -> Result<ConfigurationId, Refused> {
    let unknown = || refused(StatusCode::NOT_FOUND, "unknown_installation", "no such installation for this account");
    let id = ConfigurationId::parse(id).map_err(|_| unknown())?;
    match state.store.native_installation(&id).await? {
        Some(row) if row.status == InstallationStatus::Active && row.owner_id() == account => Ok(id),
        Some(row) if row.status == InstallationStatus::Active => {
            tracing::warn!(
                security_event = "vendor_call_for_another_account",
                configuration_id = %id,
                "a vendor's call named an installation that acts for another account"
            );
            Err(unknown())
        }
        _ => Err(unknown()),
    }
}

/// A notification as Vercel takes it, `{level, title, message?, href?}`; `None` for absent or
/// `null`. `href` is an `http(s)` URL, or `sso:` before one: Vercel signs the user in first.
fn notification_of(value: Option<&Value>) -> Result<Option<Value>, Refused> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    let level = field("level").filter(|l| ["info", "warn", "error"].contains(l));
    let title = field("title").filter(|t| !t.trim().is_empty() && t.chars().count() <= MAX_TITLE);
    let (Some(level), Some(title)) = (level, title) else {
        return Err(bad_request(format!(
            "`notification` needs `level` (info, warn or error) and a `title` of 1 to {MAX_TITLE} characters"
        )));
    };
    let mut notification = Map::from_iter([("level".to_owned(), json!(level)), ("title".to_owned(), json!(title))]);
    match value.get("message") {
        None | Some(Value::Null) => {}
        Some(Value::String(message)) if message.chars().count() <= MAX_MESSAGE => {
            notification.insert("message".to_owned(), json!(message));
        }
        Some(_) => {
            return Err(bad_request(format!("`notification.message` is text of at most {MAX_MESSAGE} characters")))
        }
    }
    match value.get("href") {
        None | Some(Value::Null) => {}
        Some(Value::String(href)) if is_link(href) => {
            notification.insert("href".to_owned(), json!(href));
        }
        Some(_) => return Err(bad_request("`notification.href` is an http(s) URL, or `sso:` followed by one")),
    }
    Ok(Some(Value::Object(notification)))
}

fn is_link(href: &str) -> bool {
    let target = href.strip_prefix("sso:").unwrap_or(href);
    url::Url::parse(target).is_ok_and(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some())
}

/// `resources/changed`: the vendor renamed a resource, or changed its plan or metadata (a customer
/// upgraded on its site). Tether keeps the change, checked as Vercel's own `PATCH` is, and tells
/// Vercel to read the resource again (`resource.updated`), which its `GET` then answers.
async fn changed(
    state: &AppState,
    installation: &ConfigurationId,
    owner: &str,
    body: &Value,
    job: &str,
) -> Result<(), Refused> {
    let vendor_id =
        body.get("resource_id").and_then(Value::as_str).ok_or_else(|| bad_request("`resource_id` is required"))?;
    let row = {
        let mut conn = state.store.begin().await?;
        let id = vendor_said::live_id(&mut conn, installation, vendor_id).await?.ok_or_else(unknown_resource)?;
        state.store.native_resource(installation, &id).await?.ok_or_else(unknown_resource)?
    };
    let Some(product) = product(state, &row.product_id) else {
        return Err(refused(StatusCode::CONFLICT, "product_withdrawn", "the resource's product is no longer offered"));
    };
    let asked = Asked { name: body.get("name"), plan: body.get("billing_plan_id"), metadata: body.get("metadata") };
    if asked.name.is_none() && asked.plan.is_none() && asked.metadata.is_none() {
        return Err(bad_request("name `name`, `billing_plan_id` or `metadata`: what changed"));
    }
    let checked = checked_change(product, &asked, ["name", "billing_plan_id"]).map_err(|fields| {
        let said: Vec<String> = fields.into_iter().map(|(key, why)| format!("{key}: {why}")).collect();
        bad_request(format!("the change does not fit the product: {}", said.join("; ")))
    })?;
    if !state.store.change_native_resource(&row.id, checked.as_change()).await? {
        return Err(refused(StatusCode::CONFLICT, "name_taken", "the installation has another resource of this name"));
    }
    let job_body = json!({"installation_id": installation.as_str(), "resource_id": row.id}).to_string();
    let mut tx = state.store.begin().await?;
    provider_jobs::enqueue(&mut tx, job, JobKind::PushEvent, owner, &job_body).await?;
    tx.commit().await?;
    tracing::info!(configuration_id = %installation, resource_id = row.id, "the vendor changed a resource");
    Ok(())
}

/// `resources/import`: a resource the customer had at the vendor joins the installation, marked
/// imported (never released by Tether), and Vercel is given it with its secrets.
async fn import(
    state: &AppState,
    installation: &ConfigurationId,
    owner: &str,
    body: &Value,
    job: &str,
    said_at: i64,
) -> Result<(), Refused> {
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let vendor_id = text("resource_id").ok_or_else(|| bad_request("`resource_id` is required"))?;
    let product = text("product_id")
        .and_then(|id| product(state, id))
        .ok_or_else(|| bad_request("`product_id` names none of this integration's products"))?;
    let name = text("name")
        .filter(|n| n.chars().count() <= MAX_NAME)
        .ok_or_else(|| bad_request(format!("`name` of 1 to {MAX_NAME} characters is required")))?;
    let status = match text("status") {
        None => "ready",
        Some(status) if STATUSES.contains(&status) => status,
        Some(_) => return Err(bad_request(format!("`status` must be one of {}", STATUSES.join(", ")))),
    };
    let plan = match text("billing_plan_id") {
        Some(id) => resource_plan(product, id),
        None => product.plans.iter().find(|plan| plan.scope == crate::settings::products::PlanScope::Resource),
    }
    .ok_or_else(|| bad_request("`billing_plan_id` names none of the product's resource plans"))?;
    let metadata = body.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let problems = super::metadata::problems(product.metadata_schema.as_ref(), &metadata);
    if !problems.is_empty() {
        let keys: Vec<String> = problems.into_iter().map(|(key, why)| format!("{key}: {why}")).collect();
        return Err(bad_request(format!("`metadata` does not fit the product: {}", keys.join("; "))));
    }
    let notification = notification_of(body.get("notification"))?.map(|n| n.to_string());
    let row = NativeResourceRow {
        id: new_id(),
        configuration_id: installation.as_str().to_owned(),
        vendor_id: Some(vendor_id.to_owned()),
        product_id: product.slug.clone(),
        name: name.to_owned(),
        metadata: metadata.to_string(),
        billing_plan_id: plan.id.clone(),
        external_id: None,
        status: NativeResourceStatus::Ready,
        idempotency_key: None,
        request_digest: digest(body),
        origin: NativeOrigin::Imported,
        vendor_status: None,
        notification: None,
    };
    let job_body = json!({"installation_id": installation.as_str(), "resource_id": row.id}).to_string();
    let written = async {
        let mut tx = state.store.pool.begin().await?;
        vendor_said::import(&mut tx, installation, &row, status, notification.as_deref(), said_at).await?;
        provider_jobs::enqueue(&mut tx, job, JobKind::PushImport, owner, &job_body).await?;
        tx.commit().await
    };
    match written.await {
        Ok(()) => {
            tracing::info!(configuration_id = %installation, resource_id = row.id, "the vendor imported a resource");
            Ok(())
        }
        // A unique index refused it: this very call again (its job is there), the resource
        // already in the installation, or the name taken.
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            if state.store.job_exists(job).await? {
                return Ok(());
            }
            let mut conn = state.store.begin().await?;
            if vendor_said::live_id(&mut conn, installation, vendor_id).await?.is_some() {
                return Err(refused(
                    StatusCode::CONFLICT,
                    "already_imported",
                    "the resource is in this installation already",
                ));
            }
            Err(refused(StatusCode::CONFLICT, "name_taken", format!("the installation has a resource named `{name}`")))
        }
        Err(error) => Err(error.into()),
    }
}
