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
    api::{accept, answer, error, internal},
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

pub(crate) async fn list(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn create(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn env(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn rotate(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn release(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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

pub(crate) async fn notice(State(vendor): State<Vendor>, headers: HeaderMap, body: Bytes) -> Response {
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
