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
    /// Until the claim commits or is dropped.
    _turn: super::WriteTurn,
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
        let turn = self.write_turn().await;
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
        Ok((claimed == 1).then(|| Claim { tx, id: id.to_owned(), _turn: turn }))
    }

    /// Stores deliveries in one transaction, so one commit (one flush to disk) makes them all
    /// durable; for each, in order, true when the event is new. A repeat delivery, also of an
    /// event earlier in the same batch, stores nothing.
    pub async fn store_events(&self, events: &[NewEvent<'_>]) -> Result<Vec<bool>, StoreError> {
        const COLUMNS: usize = 7;
        let mut sql = String::from(
            "INSERT INTO webhook_events (id, kind, configuration_id, body, created_at, received_at, next_attempt_at) VALUES ",
        );
        for row in 0..events.len() {
            let first = row * COLUMNS + 1;
            let places: Vec<String> = (first..first + COLUMNS).map(|n| format!("${n}")).collect();
            sql.push_str(if row == 0 { "(" } else { ", (" });
            sql.push_str(&places.join(", "));
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
        let now = now_ms();
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for event in events {
            query = query
                .bind(event.id)
                .bind(event.kind)
                .bind(event.configuration_id)
                .bind(event.body)
                .bind(event.created_at)
                .bind(now)
                .bind(now);
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let mut inserted: std::collections::HashSet<String> = query.fetch_all(&mut *tx).await?.into_iter().collect();
        tx.commit().await?;
        // The first delivery of an id in the batch is the one that stored it.
        Ok(events.iter().map(|event| inserted.remove(event.id)).collect())
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

/// A delivery waiting for the commit that makes it durable.
pub struct Delivered {
    pub id: String,
    pub kind: String,
    pub configuration_id: Option<String>,
    pub body: String,
    pub created_at: i64,
}

impl Delivered {
    fn as_new(&self) -> NewEvent<'_> {
        NewEvent {
            id: &self.id,
            kind: &self.kind,
            configuration_id: self.configuration_id.as_deref(),
            body: &self.body,
            created_at: self.created_at,
        }
    }
}

/// Why a delivery was not stored: it gets no 200, so Vercel delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum Unstored {
    #[error("the commit holding the event failed")]
    Failed,
    #[error("more deliveries are waiting than the queue holds")]
    Busy,
}

/// Group commit for the inbox. Every delivery must be on disk before its 200 (a power loss must
/// not lose an acknowledged event), and a commit costs one flush whatever it holds: so deliveries
/// that arrive while a commit is being made wait for the next one and share it, instead of
/// flushing once each. Nothing waits for company: a lone delivery is committed at once.
#[derive(Clone)]
pub struct Intake {
    queue: tokio::sync::mpsc::Sender<Waiting>,
}

struct Waiting {
    event: Delivered,
    answer: tokio::sync::oneshot::Sender<Result<bool, Unstored>>,
}

/// Deliveries queued beyond this are refused at once with 503 rather than queued without bound.
const QUEUE: usize = 4096;
/// The most events one commit holds (7 bound values each: far below either engine's limit).
const PER_COMMIT: usize = 256;

impl Intake {
    /// Starts the writers: one for SQLite (it has one writer anyway), a few for PostgreSQL, where
    /// one commit can flush while the next batch is written.
    pub fn spawn(store: Store) -> Self {
        let (queue, waiting) = tokio::sync::mpsc::channel(QUEUE);
        let waiting = std::sync::Arc::new(tokio::sync::Mutex::new(waiting));
        let writers = match store.engine {
            Engine::Sqlite => 1,
            Engine::Postgres => 4,
        };
        for _ in 0..writers {
            tokio::spawn(write(store.clone(), waiting.clone()));
        }
        Self { queue }
    }

    /// Returns once the event is durable: true when it is new.
    pub async fn store(&self, event: Delivered) -> Result<bool, Unstored> {
        let (answer, stored) = tokio::sync::oneshot::channel();
        self.queue.try_send(Waiting { event, answer }).map_err(|_| Unstored::Busy)?;
        stored.await.unwrap_or(Err(Unstored::Failed))
    }
}

async fn write(store: Store, waiting: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Waiting>>>) {
    let mut batch = Vec::with_capacity(PER_COMMIT);
    loop {
        // Whatever arrived during the last commit, at least one.
        if waiting.lock().await.recv_many(&mut batch, PER_COMMIT).await == 0 {
            return;
        }
        let events: Vec<NewEvent<'_>> = batch.iter().map(|w| w.event.as_new()).collect();
        let stored = store.store_events(&events).await;
        drop(events);
        match stored {
            Ok(fresh) => {
                for (waiting, fresh) in batch.drain(..).zip(fresh) {
                    let _ = waiting.answer.send(Ok(fresh));
                }
            }
            Err(error) => {
                tracing::error!(%error, events = batch.len(), "cannot store webhooks; Vercel will deliver them again");
                for waiting in batch.drain(..) {
                    let _ = waiting.answer.send(Err(Unstored::Failed));
                }
            }
        }
    }
}
