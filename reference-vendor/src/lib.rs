//! A vendor's system implementing Tether's provider contract (`docs/provider-contract.yaml`), the
//! way a vendor would write it in any language: its own database, its own check of Tether's
//! signatures, its own product rule (a plan allows a few databases per account). It shares no
//! code with Tether. Tests turn knobs to make it slow, down, or lose an answer after doing the
//! work.

use std::{
    net::SocketAddr,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    SqlitePool,
};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// Where Tether's calls arrive: the base URL Tether is given ends here.
pub const BASE_PATH: &str = "/tether/v1";
/// The sign-in page Tether's account linking sends users to (TETHER_PROVIDER_ACCOUNT_LINK_URL).
pub const LINK_PATH: &str = "/link";
/// How far a request's timestamp may be from this clock.
const TOLERANCE_SECS: i64 = 5 * 60;

pub struct Config {
    /// `sqlite://…`, or `sqlite::memory:` for tests.
    pub database_url: String,
    /// The shared secrets, `id:whsec_base64[,…]`, as Tether's TETHER_PROVIDER_SECRETS.
    pub secrets: String,
    /// Resources an account may have: the product's own rule.
    pub plan_limit: i64,
}

/// What tests may do to the vendor.
#[derive(Default)]
struct Knobs {
    delay: Duration,
    down: bool,
    /// The next call for this action does its work, then its answer is lost.
    lose_next_answer: Option<String>,
    /// A mistake the vendor makes on purpose, so a test can prove `provider-check` catches it.
    flaw: Option<Flaw>,
    /// With `Flaw::ReplaysFailures`: keys whose first attempt failed.
    failed_keys: std::collections::HashSet<String>,
    /// Every call that arrived, as (action, `webhook-id`), whatever was answered.
    seen: Vec<(String, String)>,
}

/// Mistakes vendors make when they implement the contract from its text, each one a way the
/// contract's promises break. `server provider-check` must fail a vendor that makes any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// Takes a timestamp however far ahead of its clock (only the past is bounded).
    AcceptsFutureTimestamps,
    /// Allows a signature only 3 minutes of age: Tether's retries and clock skew fall outside.
    TightWindow,
    /// Checks only the first signature in `webhook-signature`: fails during a secret rotation.
    FirstSignatureOnly,
    /// Refuses with `{"message"}` instead of `{"error":{"code","message"}}`.
    BareErrors,
    /// Lists, reads and releases resources whatever the account.
    IgnoresAccounts,
    /// Answers 201 again to a repeated Idempotency-Key.
    CreatedOnRepeat,
    /// Answers JSON as `text/plain`.
    TextContentType,
    /// Remembers an Idempotency-Key whose first attempt failed and answers that failure again.
    ReplaysFailures,
    /// Describes a variable with a comment longer than Vercel takes.
    LongComment,
}

impl Flaw {
    pub const ALL: [Flaw; 9] = [
        Flaw::AcceptsFutureTimestamps,
        Flaw::TightWindow,
        Flaw::FirstSignatureOnly,
        Flaw::BareErrors,
        Flaw::IgnoresAccounts,
        Flaw::CreatedOnRepeat,
        Flaw::TextContentType,
        Flaw::ReplaysFailures,
        Flaw::LongComment,
    ];
}

#[derive(Clone)]
pub struct Vendor(Arc<Inner>);

struct Inner {
    pool: SqlitePool,
    keys: Vec<Vec<u8>>,
    plan_limit: i64,
    knobs: Mutex<Knobs>,
}

pub struct VendorHandle {
    pub addr: SocketAddr,
    pub vendor: Vendor,
}

impl VendorHandle {
    /// The sign-in page to give Tether (`TETHER_PROVIDER_ACCOUNT_LINK_URL`).
    pub fn link_url(&self) -> String {
        format!("http://{}{LINK_PATH}", self.addr)
    }

    /// The base URL to give Tether (`TETHER_PROVIDER_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
    }
}

fn parse_secrets(spec: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let keys: Vec<Vec<u8>> = spec
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let secret = part.trim().split_once(':').map(|(_, s)| s).unwrap_or(part.trim());
            let b64 =
                secret.strip_prefix("whsec_").ok_or_else(|| anyhow::anyhow!("a secret must start with whsec_"))?;
            Ok(STANDARD.decode(b64)?)
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!keys.is_empty(), "no secret given");
    Ok(keys)
}

impl Vendor {
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(&config.database_url)?.create_if_missing(true);
        // One connection: an in-memory database lives as long as its connection.
        let pool = SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let keys = parse_secrets(&config.secrets)?;
        Ok(Self(Arc::new(Inner { pool, keys, plan_limit: config.plan_limit, knobs: Mutex::default() })))
    }

    /// Every answer waits this long first.
    pub fn set_delay(&self, delay: Duration) {
        self.knobs(|k| k.delay = delay);
    }

    /// Answers 503 to everything while set.
    pub fn set_down(&self, down: bool) {
        self.knobs(|k| k.down = down);
    }

    /// The next call for `action` (`resources.create`, …) does its work, then answers 502: the
    /// answer is lost on the way back.
    pub fn lose_next_answer(&self, action: &str) {
        self.knobs(|k| k.lose_next_answer = Some(action.to_owned()));
    }

    /// The `webhook-id` of every call for `action` that arrived, in order.
    pub fn seen(&self, action: &str) -> Vec<String> {
        self.knobs(|k| k.seen.iter().filter(|(a, _)| a == action).map(|(_, id)| id.clone()).collect())
    }

    /// Makes this mistake from now on (see [`Flaw`]).
    pub fn set_flaw(&self, flaw: Flaw) {
        self.knobs(|k| k.flaw = Some(flaw));
    }

    fn flawed(&self, flaw: Flaw) -> bool {
        self.knobs(|k| k.flaw == Some(flaw))
    }

    fn knobs<T>(&self, f: impl FnOnce(&mut Knobs) -> T) -> T {
        let mut knobs = self.0.knobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut knobs)
    }

    /// The account's resources as the vendor's own records have them.
    pub async fn resources_of(&self, account: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT id, name FROM resources WHERE account = ? ORDER BY created_at, id")
            .bind(account)
            .fetch_all(&self.0.pool)
            .await
            .unwrap_or_default()
    }

    /// A resource the account had before any Vercel installation (a customer's own database);
    /// returns its id.
    pub async fn add_resource(&self, account: &str, name: &str) -> String {
        let id = random("db_", 8);
        sqlx::query(
            "INSERT INTO resources (id, account, name, api_key, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(account)
        .bind(name)
        .bind(random("refdb_sk_", 20))
        .bind(random("manual_", 8))
        .bind(now_ms())
        .execute(&self.0.pool)
        .await
        .expect("the vendor's database takes a resource");
        id
    }

    /// The notices received, as (type, body).
    pub async fn notices(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, body FROM notices ORDER BY received_at, id")
            .fetch_all(&self.0.pool)
            .await
            .unwrap_or_default()
    }
}

pub async fn serve(listener: TcpListener, config: Config) -> anyhow::Result<VendorHandle> {
    let addr = listener.local_addr()?;
    let vendor = Vendor::new(config).await?;
    let app = router(vendor.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "reference vendor stopped");
        }
    });
    Ok(VendorHandle { addr, vendor })
}

pub fn router(vendor: Vendor) -> Router {
    let api = Router::new()
        .route("/resources/list", post(list))
        .route("/resources/create", post(create))
        .route("/resources/env", post(env))
        .route("/resources/rotate", post(rotate))
        .route("/resources/release", post(release))
        .route("/notices", post(notice));
    let api = api.layer(axum::middleware::from_fn_with_state(vendor.clone(), flawed_answers));
    Router::new()
        .nest(BASE_PATH, api)
        // For whoever starts the process and waits for it to listen.
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        // Account linking: the vendor's own sign-in page, where Tether sends the user.
        .route(LINK_PATH, axum::routing::get(sign_in_page).post(sign_in))
        .with_state(vendor)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn internal(cause: sqlx::Error) -> Response {
    tracing::error!(%cause, "database");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
}

/// The contract's signature check: any `v1,` signature made with any of our keys over
/// `{webhook-id}.{webhook-timestamp}.{body}`, within five minutes of our clock either way.
fn signed(keys: &[Vec<u8>], headers: &HeaderMap, body: &[u8], flaw: Option<Flaw>) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signatures)) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"))
    else {
        return false;
    };
    let Ok(sent_at) = timestamp.parse::<i64>() else { return false };
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let in_window = match flaw {
        Some(Flaw::AcceptsFutureTimestamps) => now - sent_at <= TOLERANCE_SECS,
        Some(Flaw::TightWindow) => (now - sent_at).abs() <= 3 * 60,
        _ => (now - sent_at).abs() <= TOLERANCE_SECS,
    };
    if !in_window {
        return false;
    }
    let checked = if flaw == Some(Flaw::FirstSignatureOnly) { 1 } else { usize::MAX };
    keys.iter().any(|key| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return false };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        signatures
            .split(' ')
            .take(checked)
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .any(|given| bool::from(given.as_slice().ct_eq(expected.as_slice())))
    })
}

/// The flaws that change every answer: its content type, and the shape of its errors.
async fn flawed_answers(
    State(vendor): State<Vendor>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if vendor.flawed(Flaw::BareErrors) && response.status().is_client_error() {
        return (response.status(), Json(json!({"message": "refused"}))).into_response();
    }
    if vendor.flawed(Flaw::TextContentType) {
        response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("text/plain"));
    }
    response
}

/// What every call goes through: the knobs, the signature, then the body for this action.
async fn accept<T: for<'de> Deserialize<'de>>(
    vendor: &Vendor,
    headers: &HeaderMap,
    body: &[u8],
    action: &str,
) -> Result<T, Response> {
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (delay, down) = vendor.knobs(|k| {
        k.seen.push((action.to_owned(), id));
        (k.delay, k.down)
    });
    tokio::time::sleep(delay).await;
    if down {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Down for maintenance."));
    }
    if !signed(&vendor.0.keys, headers, body, vendor.knobs(|k| k.flaw)) {
        return Err(error(StatusCode::UNAUTHORIZED, "bad_signature", "The request is not signed by Tether."));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| error(StatusCode::BAD_REQUEST, "bad_request", "The body is not JSON."))?;
    if value["action"] != action {
        return Err(error(StatusCode::BAD_REQUEST, "wrong_action", "The body is for another endpoint."));
    }
    serde_json::from_value(value)
        .map_err(|e| error(StatusCode::BAD_REQUEST, "bad_request", &format!("The body does not fit: {e}")))
}

/// After the work is done: an answer, or, when a test asked, a lost one.
fn answer(vendor: &Vendor, action: &str, status: StatusCode, body: Value) -> Response {
    let lost = vendor.knobs(|k| match &k.lose_next_answer {
        Some(lose) if lose == action => k.lose_next_answer.take().is_some(),
        _ => false,
    });
    if lost {
        return error(StatusCode::BAD_GATEWAY, "lost", "The answer was lost on the way back.");
    }
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
struct AccountBody {
    account: String,
}

#[derive(Deserialize)]
struct ProjectBody {
    name: String,
}

#[derive(Deserialize)]
struct CreateBody {
    account: String,
    project: ProjectBody,
}

#[derive(Deserialize)]
struct ResourceBody {
    account: String,
    resource_id: String,
}

#[derive(Deserialize)]
struct ReleaseBody {
    account: String,
    resource_id: String,
    installation_id: String,
    origin: String,
}

#[derive(Deserialize)]
struct RotateBody {
    account: String,
    resource_id: String,
    phase: String,
}

#[derive(Deserialize)]
struct NoticeBody {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    api_key: String,
    pending_key: Option<String>,
}

fn resource_json(row: &Row) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "region": "eu-1",
        "url": format!("https://console.refdb.example/databases/{}", row.id),
        "rotating": row.pending_key.is_some(),
    })
}

fn env_json(row: &Row) -> Value {
    let key = row.pending_key.as_deref().unwrap_or(&row.api_key);
    json!({"env": [
        {"key": "REFDB_URL", "value": format!("postgres://{}.refdb.example:5432/main", row.id),
         "comment": "Reference DB: the connection URL of the database linked to this project."},
        {"key": "REFDB_API_KEY", "value": key, "secret": true,
         "comment": "Reference DB: the API key of the database linked to this project."},
        // No comment: Tether writes one that names the vendor.
        {"key": "REFDB_REGION", "value": "eu-1", "targets": ["production", "preview"]},
    ]})
}

fn random(prefix: &str, bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    format!("{prefix}{}", hex::encode(raw))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

async fn row(vendor: &Vendor, account: &str, id: &str) -> Result<Row, Response> {
    let any_account = vendor.flawed(Flaw::IgnoresAccounts);
    sqlx::query_as("SELECT id, name, api_key, pending_key FROM resources WHERE id = ? AND (account = ? OR ?)")
        .bind(id)
        .bind(account)
        .bind(any_account)
        .fetch_optional(&vendor.0.pool)
        .await
        .map_err(internal)?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "unknown_resource", "No such database in this account."))
}

async fn list(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let request: AccountBody = match accept(&vendor, &headers, &body, "resources.list").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let rows: Result<Vec<Row>, _> = sqlx::query_as(
        "SELECT id, name, api_key, pending_key FROM resources WHERE (account = ? OR ?) ORDER BY created_at, id",
    )
    .bind(&request.account)
    .bind(vendor.flawed(Flaw::IgnoresAccounts))
    .fetch_all(&vendor.0.pool)
    .await;
    match rows {
        Ok(rows) => answer(
            &vendor,
            "resources.list",
            StatusCode::OK,
            json!({"resources": rows.iter().map(resource_json).collect::<Vec<_>>()}),
        ),
        Err(e) => internal(e),
    }
}

async fn create(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let replays = vendor.flawed(Flaw::ReplaysFailures);
    if replays && vendor.knobs(|k| k.failed_keys.contains(&key)) {
        return error(StatusCode::BAD_REQUEST, "bad_request", "The body does not fit.");
    }
    let request: CreateBody = match accept(&vendor, &headers, &body, "resources.create").await {
        Ok(request) => request,
        Err(response) => {
            if replays {
                vendor.knobs(|k| k.failed_keys.insert(key));
            }
            return response;
        }
    };
    // A failed attempt stores nothing under its key: the next attempt with it is a new request.
    if key.is_empty() {
        return error(StatusCode::BAD_REQUEST, "idempotency_key_missing", "Idempotency-Key is required.");
    }
    if key.len() > 128 {
        return error(StatusCode::BAD_REQUEST, "idempotency_key_invalid", "Idempotency-Key is over 128 characters.");
    }
    let key = key.as_str();
    let pool = &vendor.0.pool;
    let earlier: Result<Option<(String, String)>, _> =
        sqlx::query_as("SELECT id, account FROM resources WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(pool)
            .await;
    match earlier {
        Ok(Some((id, account))) if account == request.account => {
            let status = if vendor.flawed(Flaw::CreatedOnRepeat) { StatusCode::CREATED } else { StatusCode::OK };
            return match row(&vendor, &account, &id).await {
                Ok(row) => answer(&vendor, "resources.create", status, resource_json(&row)),
                Err(response) => response,
            };
        }
        Ok(Some(_)) => {
            return error(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "That Idempotency-Key belongs to another account.",
            )
        }
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let count: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM resources WHERE account = ?")
        .bind(&request.account)
        .fetch_one(pool)
        .await;
    match count {
        Ok(count) if count >= vendor.0.plan_limit => {
            let message = format!("Your plan allows {} databases; upgrade to add more.", vendor.0.plan_limit);
            return error(StatusCode::UNPROCESSABLE_ENTITY, "plan_limit", &message);
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let row = Row {
        id: random("db_", 8),
        name: format!("{}-db", request.project.name.chars().take(60).collect::<String>()),
        api_key: random("refdb_sk_", 20),
        pending_key: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO resources (id, account, name, api_key, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&request.account)
    .bind(&row.name)
    .bind(&row.api_key)
    .bind(key)
    .bind(now_ms())
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => answer(&vendor, "resources.create", StatusCode::CREATED, resource_json(&row)),
        Err(e) => internal(e),
    }
}

async fn env(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let request: ResourceBody = match accept(&vendor, &headers, &body, "resources.env").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    match row(&vendor, &request.account, &request.resource_id).await {
        Ok(row) => {
            let mut env = env_json(&row);
            if vendor.flawed(Flaw::LongComment) {
                env["env"][0]["comment"] = json!("c".repeat(501));
            }
            answer(&vendor, "resources.env", StatusCode::OK, env)
        }
        Err(response) => response,
    }
}

async fn rotate(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let request: RotateBody = match accept(&vendor, &headers, &body, "resources.rotate").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let mut row = match row(&vendor, &request.account, &request.resource_id).await {
        Ok(row) => row,
        Err(response) => return response,
    };
    let pool = &vendor.0.pool;
    let done = match request.phase.as_str() {
        "begin" if row.pending_key.is_none() => {
            let key = random("refdb_sk_", 20);
            let done = sqlx::query("UPDATE resources SET pending_key = ? WHERE id = ?")
                .bind(&key)
                .bind(&row.id)
                .execute(pool)
                .await;
            row.pending_key = Some(key);
            done.map(drop)
        }
        "begin" => Ok(()),
        "finish" => {
            let done = sqlx::query("UPDATE resources SET api_key = pending_key, pending_key = NULL WHERE id = ? AND pending_key IS NOT NULL")
                .bind(&row.id)
                .execute(pool)
                .await;
            return match done {
                Ok(_) => answer(&vendor, "resources.rotate", StatusCode::OK, json!({"env": []})),
                Err(e) => internal(e),
            };
        }
        _ => return error(StatusCode::BAD_REQUEST, "bad_phase", "phase must be begin or finish."),
    };
    match done {
        Ok(()) => answer(&vendor, "resources.rotate", StatusCode::OK, env_json(&row)),
        Err(e) => internal(e),
    }
}

async fn release(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let request: ReleaseBody = match accept(&vendor, &headers, &body, "resources.release").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // The contract: a release is only for what Tether created, and says so.
    if request.origin != "created" || request.installation_id.is_empty() {
        return error(StatusCode::BAD_REQUEST, "bad_request", "A release names its installation and origin `created`.");
    }
    // Gone already (whoever released it) is released; another account's is not ours to touch.
    let any_account = vendor.flawed(Flaw::IgnoresAccounts);
    let owner: Result<Option<String>, _> = sqlx::query_scalar("SELECT account FROM resources WHERE id = ?")
        .bind(&request.resource_id)
        .fetch_optional(&vendor.0.pool)
        .await;
    match owner {
        Ok(Some(owner)) if owner != request.account && !any_account => {
            return error(StatusCode::NOT_FOUND, "unknown_resource", "No such database in this account.")
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let done =
        sqlx::query("DELETE FROM resources WHERE id = ?").bind(&request.resource_id).execute(&vendor.0.pool).await;
    match done {
        Ok(_) => answer(&vendor, "resources.release", StatusCode::OK, json!({})),
        Err(e) => internal(e),
    }
}

async fn notice(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
    let request: NoticeBody = match accept(&vendor, &headers, &body, "notices").await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let done = sqlx::query(
        "INSERT INTO notices (id, kind, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&request.id)
    .bind(&request.kind)
    .bind(String::from_utf8_lossy(&body).into_owned())
    .bind(now_ms())
    .execute(&vendor.0.pool)
    .await;
    match done {
        Ok(_) => answer(&vendor, "notices", StatusCode::OK, json!({})),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in docs/provider-contract.yaml, checked by this independent code.
    #[test]
    fn the_contracts_worked_example_verifies_here_too() {
        let keys = parse_secrets("k1:whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"action":"resources.list","account":"team_1"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(&keys[0]).unwrap();
        mac.update(b"msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8.1614265330.");
        mac.update(body);
        let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert_eq!(signature, "v1,0TzBU7rq3AlQpnxeWRbRoyLSm/J85OxvykW6+58CRVg=");
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "msg_5f2b9c0e7d4a41e8b6c3a9d017f4e2b8".parse().unwrap());
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        assert!(!signed(&keys, &headers, body, None), "a 2021 timestamp is far outside the window");
    }
}

#[derive(Deserialize)]
struct LinkQuery {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    return_to: String,
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    account: String,
}

/// Only Tether's own return address: an assertion is never sent anywhere else. A real vendor
/// pins the full URL of its Tether deployment.
fn tether_return(return_to: &str) -> bool {
    (return_to.starts_with("https://") || return_to.starts_with("http://127.0.0.1:"))
        && return_to.ends_with("/install/account")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A demo sign-in: the user names their account (a real vendor signs them in properly).
async fn sign_in_page(axum::extract::Query(query): axum::extract::Query<LinkQuery>) -> Response {
    if query.ticket.is_empty() || !tether_return(&query.return_to) {
        return (StatusCode::BAD_REQUEST, "This sign-in link is incomplete.").into_response();
    }
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to Reference DB</title><link rel="icon" href="data:,"></head>
<body><main><h1>Sign in to Reference DB</h1>
<form method="post" action="{LINK_PATH}">
<input type="hidden" name="ticket" value="{ticket}"><input type="hidden" name="return_to" value="{return_to}">
<label for="account">Your Reference DB account</label> <input id="account" name="account" required pattern="[a-z0-9\-]{{1,40}}">
<button type="submit">Sign in</button></form></main></body></html>"#,
        ticket = escape(&query.ticket),
        return_to = escape(&query.return_to),
    );
    axum::response::Html(page).into_response()
}

/// Signs the account id with the shared secret, over `{ticket}.{account}`, and sends the user
/// back to Tether.
async fn sign_in(State(vendor): State<Vendor>, axum::extract::Form(form): axum::extract::Form<LinkForm>) -> Response {
    let name: String =
        form.account.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    if name.is_empty() || form.ticket.is_empty() || !tether_return(&form.return_to) {
        return (StatusCode::BAD_REQUEST, "Name your account to sign in.").into_response();
    }
    let account = format!("acct_{}", name.to_ascii_lowercase());
    let Some(key) = vendor.0.keys.first() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "No secret configured.");
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Bad secret.");
    };
    mac.update(format!("{}.{account}", form.ticket).as_bytes());
    let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let query = [("ticket", form.ticket.as_str()), ("account", account.as_str()), ("signature", signature.as_str())];
    let encoded: String = query.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
    let location = format!("{}?{encoded}", form.return_to);
    (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, location)]).into_response()
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
