//! The provider outbox (migration 0007): what the vendor's system must hear after a webhook,
//! written with the webhook's effect and sent by `provider::jobs` until the vendor takes it.

use sqlx::FromRow;

use super::{now_ms, Conn, Store, StoreError};

/// Where a job stands: waiting (pending), taken by the vendor with a 2xx (done), or parked
/// after its last attempt (failed).
pub use super::retry::QueueState as JobState;

/// What a job asks of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A lifecycle notice; the body is the notice.
    Notice,
    /// No installation uses a resource Tether created any more; the body is `{"resource_id",
    /// "installation_id", "origin": "created"}` (see `provider::outbox::release`).
    Release,
    /// A native rotation's delay passed: the old credentials stop working. The body is
    /// `{"resource_id"}` (the vendor's id); the job waits until its first attempt is due.
    FinishRotation,
    /// For Vercel, not the vendor: read a new native installation's account (team name and
    /// contact) at Vercel, then tell the vendor `installation.created`. `{"installation_id"}`.
    ReadAccount,
    /// For Vercel: read a member whose role changed, then tell the vendor `member.changed`.
    /// `{"installation_id", "member_id", "role", "cause"}`.
    ReadMember,
    /// For Vercel: a rotation begun at Tether (an admin pressed Rotate): hand the vendor's new
    /// secrets to Vercel, then let the vendor finish. `{"installation_id", "resource_id"}` (Tether's
    /// id); the secrets are asked of the vendor again when the job runs, never stored.
    PushSecrets,
    /// For Vercel: the vendor said a resource's status or notification changed; send Vercel what
    /// Tether holds when the job runs (`PATCH .../resources/{rid}`), so a late job never sends
    /// an older state. `{"installation_id", "resource_id"}` (Tether's id).
    PushStatus,
    /// For Vercel: the vendor set or cleared the installation's notification; send the one held
    /// when the job runs (`PATCH /v1/installations/{id}`). `{"installation_id"}`.
    PushInstallation,
    /// For Vercel: the vendor brought in a resource the customer already had; put it at Vercel
    /// with its secrets, asked of the vendor when the job runs (`PUT .../resources/{rid}`).
    /// `{"installation_id", "resource_id"}` (Tether's id).
    PushImport,
    /// For Vercel: an admin deleted a resource on Tether's page; Vercel removes it (`DELETE
    /// .../resources/{rid}`), then Tether marks it deleted and asks the vendor to release what it
    /// created. `{"installation_id", "resource_id"}` (Tether's id).
    RemoveResource,
    /// For Vercel: the vendor changed a resource's name, plan or metadata; Vercel is told to read
    /// it again (`POST /v1/installations/{id}/events`, `resource.updated`).
    /// `{"installation_id", "resource_id"}` (Tether's id).
    PushEvent,
}

text_enum!(JobKind {
    Notice => "notice",
    Release => "release",
    FinishRotation => "finish_rotation",
    ReadAccount => "read_account",
    ReadMember => "read_member",
    PushSecrets => "push_secrets",
    PushStatus => "push_status",
    PushInstallation => "push_installation",
    PushImport => "push_import",
    RemoveResource => "remove_resource",
    PushEvent => "push_event"
});

impl JobKind {
    /// What the vendor's outbox worker sends.
    pub const TO_VENDOR: [JobKind; 3] = [JobKind::Notice, JobKind::Release, JobKind::FinishRotation];
    /// What the Vercel worker of native installations does, with the installation's token.
    pub const TO_VERCEL: [JobKind; 8] = [
        JobKind::ReadAccount,
        JobKind::ReadMember,
        JobKind::PushSecrets,
        JobKind::PushStatus,
        JobKind::PushInstallation,
        JobKind::PushImport,
        JobKind::RemoveResource,
        JobKind::PushEvent,
    ];
}

#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub account: String,
    pub body: String,
    pub attempts: i64,
}

/// After this many failed attempts (see `retry`) a job is parked.
pub const MAX_ATTEMPTS: i64 = 16;
/// How long one instance holds a job it is sending before another may try.
pub const LEASE_MS: i64 = 60_000;

/// Inside the webhook's transaction. A job id already there is the same job: nothing changes,
/// and the answer is false.
pub async fn enqueue(conn: &mut Conn, id: &str, kind: JobKind, account: &str, body: &str) -> Result<bool, sqlx::Error> {
    enqueue_at(conn, id, kind, account, body, now_ms()).await
}

/// A job whose first attempt waits until `at` (Unix milliseconds); false when the id was there.
pub async fn enqueue_at(
    conn: &mut Conn,
    id: &str,
    kind: JobKind,
    account: &str,
    body: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO provider_jobs (id, kind, account, body, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(account)
    .bind(body)
    .bind(at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

impl Store {
    /// Due jobs of these kinds, oldest first.
    pub async fn due_jobs(&self, limit: i64, kinds: &[JobKind]) -> Result<Vec<Job>, StoreError> {
        let placeholders: Vec<String> = (0..kinds.len()).map(|n| format!("${}", n + 4)).collect();
        let sql = format!(
            "SELECT id, kind, account, body, attempts FROM provider_jobs \
             WHERE state = $1 AND next_attempt_at <= $2 AND kind IN ({}) ORDER BY created_at, id LIMIT $3",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as(&sql).bind(JobState::Pending).bind(now_ms()).bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        Ok(query.fetch_all(&self.pool).await?)
    }

    /// Takes a due job for `LEASE_MS` by moving its next attempt: true for the one instance whose
    /// update found it still due. No transaction is held while the vendor is called.
    pub async fn lease_job(&self, id: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let leased = sqlx::query(
            "UPDATE provider_jobs SET next_attempt_at = $1 WHERE id = $2 AND state = $3 AND next_attempt_at <= $4",
        )
        .bind(now + LEASE_MS)
        .bind(id)
        .bind(JobState::Pending)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(leased == 1)
    }

    pub async fn job_done(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE provider_jobs SET state = $1, done_at = $2, last_error = NULL WHERE id = $3")
            .bind(JobState::Done)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn job_failed(&self, job: &Job, error: &str) -> Result<(), StoreError> {
        let next = super::retry::after_failure(job.attempts, MAX_ATTEMPTS, now_ms());
        sqlx::query(
            "UPDATE provider_jobs SET attempts = $1, next_attempt_at = $2, state = $3, last_error = $4 WHERE id = $5",
        )
        .bind(next.attempts)
        .bind(next.next_attempt_at)
        .bind(next.state)
        .bind(error)
        .bind(&job.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a job of this id was ever queued (done ones included).
    pub async fn job_exists(&self, id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM provider_jobs WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(found.is_some())
    }

    #[cfg(feature = "test-support")]
    /// How many attempts each job of a kind has failed, oldest first: for tests.
    pub async fn job_attempts(&self, kind: &str) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT attempts FROM provider_jobs WHERE kind = $1 ORDER BY created_at, id")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?)
    }

    #[cfg(feature = "test-support")]
    /// The bodies of every job of a kind, oldest first: for tests.
    pub async fn job_bodies(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT body FROM provider_jobs WHERE kind = $1 ORDER BY created_at, id")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?)
    }

    #[cfg(feature = "test-support")]
    /// (kind, state) of every job, oldest first: for tests and operators.
    pub async fn jobs(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, kind, state FROM provider_jobs ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?)
    }
}
