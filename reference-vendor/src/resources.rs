//! The contract's endpoints, over the vendor's own database: list, create, env, rotate,
//! release, and notices.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    api::{accept, answer},
    error::ApiError,
    vendor::{now_ms, random},
    Flaw, Vendor,
};

#[derive(Deserialize)]
struct AccountBody {
    account: String,
}

#[derive(Deserialize)]
struct ProjectBody {
    name: String,
}

/// Either a project's (the popup) or Vercel's create form's (a native integration, with the
/// name the user chose; its product, metadata and plan are the vendor's to honour).
#[derive(Deserialize)]
struct CreateBody {
    account: String,
    #[serde(default)]
    project: Option<ProjectBody>,
    #[serde(default)]
    name: Option<String>,
}

impl CreateBody {
    fn resource_name(&self) -> Result<String, ApiError> {
        match (&self.project, &self.name) {
            (Some(project), _) => Ok(format!("{}-db", project.name.chars().take(60).collect::<String>())),
            (None, Some(name)) if !name.trim().is_empty() => Ok(name.chars().take(200).collect()),
            _ => Err(ApiError::BodyDoesNotFit("a create names a project or a resource name".into())),
        }
    }
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

async fn row(vendor: &Vendor, account: &str, id: &str) -> Result<Row, ApiError> {
    let any_account = vendor.flawed(Flaw::IgnoresAccounts);
    sqlx::query_as("SELECT id, name, api_key, pending_key FROM resources WHERE id = ? AND (account = ? OR ?)")
        .bind(id)
        .bind(account)
        .bind(any_account)
        .fetch_optional(&vendor.0.pool)
        .await?
        .ok_or(ApiError::UnknownResource)
}

type Answer = Result<Response, ApiError>;

pub(crate) async fn list(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let request: AccountBody = accept(&vendor, &headers, &body, "resources.list").await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, api_key, pending_key FROM resources WHERE (account = ? OR ?) ORDER BY created_at, id",
    )
    .bind(&request.account)
    .bind(vendor.flawed(Flaw::IgnoresAccounts))
    .fetch_all(&vendor.0.pool)
    .await?;
    let resources: Vec<Value> = rows.iter().map(resource_json).collect();
    answer(&vendor, "resources.list", StatusCode::OK, json!({ "resources": resources }))
}

pub(crate) async fn create(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let replays = vendor.flawed(Flaw::ReplaysFailures);
    if replays && vendor.knobs(|k| k.failed_keys.contains(&key)) {
        return Err(ApiError::BodyDoesNotFit("the answer kept for this Idempotency-Key".into()));
    }
    let remember_failure = |_: &ApiError| {
        if replays {
            vendor.knobs(|k| k.failed_keys.insert(key.clone()));
        }
    };
    let request: CreateBody =
        accept(&vendor, &headers, &body, "resources.create").await.inspect_err(remember_failure)?;
    let name = request.resource_name().inspect_err(remember_failure)?;
    // A failed attempt stores nothing under its key: the next attempt with it is a new request.
    if key.is_empty() {
        return Err(ApiError::IdempotencyKeyMissing);
    }
    if key.len() > 128 {
        return Err(ApiError::IdempotencyKeyTooLong);
    }
    let pool = &vendor.0.pool;
    let earlier: Option<(String, String)> =
        sqlx::query_as("SELECT id, account FROM resources WHERE idempotency_key = ?")
            .bind(&key)
            .fetch_optional(pool)
            .await?;
    match earlier {
        Some((id, account)) if account == request.account => {
            let status = if vendor.flawed(Flaw::CreatedOnRepeat) { StatusCode::CREATED } else { StatusCode::OK };
            let row = row(&vendor, &account, &id).await?;
            return answer(&vendor, "resources.create", status, resource_json(&row));
        }
        Some(_) => return Err(ApiError::IdempotencyKeyReused),
        None => {}
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resources WHERE account = ?")
        .bind(&request.account)
        .fetch_one(pool)
        .await?;
    if count >= vendor.0.plan_limit {
        return Err(ApiError::PlanLimit(vendor.0.plan_limit));
    }
    let row = Row { id: random("db_", 8), name, api_key: random("refdb_sk_", 20), pending_key: None };
    sqlx::query(
        "INSERT INTO resources (id, account, name, api_key, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&request.account)
    .bind(&row.name)
    .bind(&row.api_key)
    .bind(&key)
    .bind(now_ms())
    .execute(pool)
    .await?;
    answer(&vendor, "resources.create", StatusCode::CREATED, resource_json(&row))
}

pub(crate) async fn env(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let request: ResourceBody = accept(&vendor, &headers, &body, "resources.env").await?;
    let row = row(&vendor, &request.account, &request.resource_id).await?;
    let mut env = env_json(&row);
    if vendor.flawed(Flaw::LongComment) {
        env["env"][0]["comment"] = json!("c".repeat(501));
    }
    answer(&vendor, "resources.env", StatusCode::OK, env)
}

pub(crate) async fn rotate(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let request: RotateBody = accept(&vendor, &headers, &body, "resources.rotate").await?;
    let mut row = row(&vendor, &request.account, &request.resource_id).await?;
    let pool = &vendor.0.pool;
    match request.phase.as_str() {
        // A second begin while one is under way answers the same pending key.
        "begin" if row.pending_key.is_some() => {}
        "begin" => {
            let key = random("refdb_sk_", 20);
            sqlx::query("UPDATE resources SET pending_key = ? WHERE id = ?")
                .bind(&key)
                .bind(&row.id)
                .execute(pool)
                .await?;
            row.pending_key = Some(key);
        }
        "finish" => {
            sqlx::query(
                "UPDATE resources SET api_key = pending_key, pending_key = NULL WHERE id = ? AND pending_key IS NOT NULL",
            )
            .bind(&row.id)
            .execute(pool)
            .await?;
            return answer(&vendor, "resources.rotate", StatusCode::OK, json!({"env": []}));
        }
        _ => return Err(ApiError::BadPhase),
    }
    answer(&vendor, "resources.rotate", StatusCode::OK, env_json(&row))
}

pub(crate) async fn release(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let request: ReleaseBody = accept(&vendor, &headers, &body, "resources.release").await?;
    // The contract: a release is only for what Tether created, and says so.
    if request.origin != "created" || request.installation_id.is_empty() {
        return Err(ApiError::BadRelease);
    }
    // Gone already (whoever released it) is released; another account's is not ours to touch.
    let any_account = vendor.flawed(Flaw::IgnoresAccounts);
    let owner: Option<String> = sqlx::query_scalar("SELECT account FROM resources WHERE id = ?")
        .bind(&request.resource_id)
        .fetch_optional(&vendor.0.pool)
        .await?;
    if owner.is_some_and(|owner| owner != request.account) && !any_account {
        return Err(ApiError::UnknownResource);
    }
    sqlx::query("DELETE FROM resources WHERE id = ?").bind(&request.resource_id).execute(&vendor.0.pool).await?;
    answer(&vendor, "resources.release", StatusCode::OK, json!({}))
}

pub(crate) async fn notice(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Answer {
    let request: NoticeBody = accept(&vendor, &headers, &body, "notices").await?;
    sqlx::query("INSERT INTO notices (id, kind, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
        .bind(&request.id)
        .bind(&request.kind)
        .bind(String::from_utf8_lossy(&body).into_owned())
        .bind(now_ms())
        .execute(&vendor.0.pool)
        .await?;
    answer(&vendor, "notices", StatusCode::OK, json!({}))
}
