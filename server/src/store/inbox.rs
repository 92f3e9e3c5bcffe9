//! The inbox: every verified event, once, with what the worker did with it.

use sqlx::{Any, FromRow, Transaction};

use super::{now_ms, Conn, Engine, Store, StoreError};

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub configuration_id: Option<&'a str>,
    pub body: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredEvent {
    pub id: String,
    pub kind: String,
    pub body: String,
    pub created_at: i64,
    pub attempts: i64,
}

/// Where an event stands: stored and acknowledged (pending), applied exactly once with its
/// `outcome` (done), or parked after its last attempt (failed).
pub use super::retry::QueueState as EventState;

/// After this many failed attempts (see `retry`) an event is parked for a person to look at.
pub const MAX_ATTEMPTS: i64 = 12;

/// An event this worker claimed: its effect and its outcome are written in the same transaction
/// as the claim, so the event is applied exactly once or not at all.
pub struct Claim {
    tx: Transaction<'static, Any>,
    id: String,
}

impl Claim {
    /// Where the effect writes: inside the claim's transaction.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Records what was done and commits claim, effect and outcome together.
    pub async fn finish(mut self, outcome: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE webhook_events SET outcome = $1 WHERE id = $2")
            .bind(outcome)
            .bind(&self.id)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await
    }
}

impl Store {
    /// Claims a pending event; `None` when another worker, in this process or another, has it.
    /// PostgreSQL skips a row another transaction holds instead of waiting for it; SQLite has one
    /// writer, and writing first takes its write lock at once.
    pub async fn claim_event(&self, id: &str) -> Result<Option<Claim>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Postgres {
            let free: Option<String> =
                sqlx::query_scalar("SELECT id FROM webhook_events WHERE id = $1 AND state = $2 FOR UPDATE SKIP LOCKED")
                    .bind(id)
                    .bind(EventState::Pending)
                    .fetch_optional(&mut *tx)
                    .await?;
            if free.is_none() {
                return Ok(None);
            }
        }
        let claimed =
            sqlx::query("UPDATE webhook_events SET state = $1, processed_at = $2 WHERE id = $3 AND state = $4")
                .bind(EventState::Done)
                .bind(now_ms())
                .bind(id)
                .bind(EventState::Pending)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        Ok((claimed == 1).then(|| Claim { tx, id: id.to_owned() }))
    }

    /// True when the event is new; a repeat delivery stores nothing.
    pub async fn store_event(&self, event: NewEvent<'_>) -> Result<bool, StoreError> {
        let now = now_ms();
        let result = sqlx::query(
            "INSERT INTO webhook_events (id, kind, configuration_id, body, created_at, received_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(event.id)
        .bind(event.kind)
        .bind(event.configuration_id)
        .bind(event.body)
        .bind(event.created_at)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn due_events(&self, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, body, created_at, attempts FROM webhook_events \
             WHERE state = $1 AND next_attempt_at <= $2 ORDER BY received_at, id LIMIT $3",
        )
        .bind(EventState::Pending)
        .bind(now_ms())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a failed attempt; true when that was the last one and the event is now parked.
    pub async fn event_failed(&self, event: &StoredEvent, error: &str) -> Result<bool, StoreError> {
        let next = super::retry::after_failure(event.attempts, MAX_ATTEMPTS, now_ms());
        sqlx::query(
            "UPDATE webhook_events SET attempts = $1, next_attempt_at = $2, state = $3, outcome = $4 \
             WHERE id = $5 AND state = $6",
        )
        .bind(next.attempts)
        .bind(next.next_attempt_at)
        .bind(next.state)
        .bind(error)
        .bind(&event.id)
        .bind(EventState::Pending)
        .execute(&self.pool)
        .await?;
        Ok(next.state == EventState::Failed)
    }

    #[cfg(feature = "test-support")]
    /// (state, outcome) of one event, for tests and operators.
    pub async fn event_state(&self, id: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(sqlx::query_as("SELECT state, outcome FROM webhook_events WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Events in one state, for operators and benchmarks.
    pub async fn count_events_in(&self, state: EventState) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events WHERE state = $1")
            .bind(state)
            .fetch_one(&self.pool)
            .await?)
    }

    #[cfg(feature = "test-support")]
    pub async fn count_events(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM webhook_events").fetch_one(&self.pool).await?)
    }
}
