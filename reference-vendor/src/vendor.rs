//! The vendor's service: its database, its keys, its plan rule, and the knobs tests turn.

use std::{
    net::SocketAddr,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    SqlitePool,
};

use crate::{signature::parse_secrets, Config, BASE_PATH, LINK_PATH};

/// What tests may do to the vendor.
#[derive(Default)]
pub(crate) struct Knobs {
    pub(crate) delay: Duration,
    pub(crate) down: bool,
    /// The next calls for this action (as many as counted) do their work, then their answers
    /// are lost.
    pub(crate) lose_answers: Option<(String, u32)>,
    /// A mistake the vendor makes on purpose, so a test can prove `provider-check` catches it.
    pub(crate) flaw: Option<Flaw>,
    /// With `Flaw::ReplaysFailures`: keys whose first attempt failed.
    pub(crate) failed_keys: std::collections::HashSet<String>,
    /// Every call that arrived, as (action, `webhook-id`), whatever was answered.
    pub(crate) seen: Vec<(String, String)>,
    /// The nonces of single sign-on tickets used so far.
    pub(crate) sso_nonces: std::collections::HashSet<String>,
    /// Signed-in users, by their cookie.
    pub(crate) sessions: std::collections::HashMap<String, Session>,
    /// Where the vendor tells Tether of its changes (`REFVENDOR_TETHER_URL`).
    pub(crate) tether_url: Option<String>,
}

/// Whom single sign-on signed in: a demo session, kept in memory.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) account: String,
    pub(crate) installation_id: String,
    pub(crate) admin: bool,
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
    /// Signs in with a single sign-on ticket however often it comes (a ticket in a log or a
    /// browser's history would sign anyone in).
    ReusesSsoTickets,
}

impl Flaw {
    pub const ALL: [Flaw; 10] = [
        Flaw::AcceptsFutureTimestamps,
        Flaw::TightWindow,
        Flaw::FirstSignatureOnly,
        Flaw::BareErrors,
        Flaw::IgnoresAccounts,
        Flaw::CreatedOnRepeat,
        Flaw::TextContentType,
        Flaw::ReplaysFailures,
        Flaw::LongComment,
        Flaw::ReusesSsoTickets,
    ];
}

#[derive(Clone)]
pub struct Vendor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) pool: SqlitePool,
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) plan_limit: i64,
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
        self.lose_answers(action, 1);
    }

    /// The same for the next `count` calls for `action`: enough to outlast Tether's own retries.
    pub fn lose_answers(&self, action: &str, count: u32) {
        self.knobs(|k| k.lose_answers = Some((action.to_owned(), count)));
    }

    /// The `webhook-id` of every call for `action` that arrived, in order.
    pub fn seen(&self, action: &str) -> Vec<String> {
        self.knobs(|k| k.seen.iter().filter(|(a, _)| a == action).map(|(_, id)| id.clone()).collect())
    }

    /// Makes this mistake from now on (see [`Flaw`]).
    pub fn set_flaw(&self, flaw: Flaw) {
        self.knobs(|k| k.flaw = Some(flaw));
    }

    pub(crate) fn flawed(&self, flaw: Flaw) -> bool {
        self.knobs(|k| k.flaw == Some(flaw))
    }

    pub(crate) fn knobs<T>(&self, f: impl FnOnce(&mut Knobs) -> T) -> T {
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

    /// A resource's name, if the account has it.
    pub(crate) async fn resource_name(&self, account: &str, id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT name FROM resources WHERE account = ? AND id = ?")
            .bind(account)
            .bind(id)
            .fetch_optional(&self.0.pool)
            .await
            .ok()
            .flatten()
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

    /// A new API key for the account's database, at once (a reset: the old one stops working).
    pub async fn reset_key(&self, account: &str, id: &str) -> Result<(), String> {
        let reset = sqlx::query("UPDATE resources SET api_key = ?, pending_key = NULL WHERE account = ? AND id = ?")
            .bind(random("refdb_sk_", 20))
            .bind(account)
            .bind(id)
            .execute(&self.0.pool)
            .await
            .map_err(|e| e.to_string())?;
        match reset.rows_affected() {
            1 => Ok(()),
            _ => Err("the account has no such database".into()),
        }
    }

    /// The database's current API key, as `resources/env` answers it.
    pub async fn api_key(&self, id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT COALESCE(pending_key, api_key) FROM resources WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.0.pool)
            .await
            .ok()
            .flatten()
    }

    /// The notices received, as (type, body).
    pub async fn notices(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, body FROM notices ORDER BY received_at, id")
            .fetch_all(&self.0.pool)
            .await
            .unwrap_or_default()
    }
}

pub(crate) fn random(prefix: &str, bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    format!("{prefix}{}", hex::encode(raw))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
