//! What the operator's endpoint reads: installations, what failed lately, the webhook inbox.
//! Ids, statuses and error texts only: never a token, a key or an event's body.

use serde::Serialize;
use sqlx::FromRow;

use super::{
    inbox::EventState, installations::InstallationStatus, links::LinkStatus, now_ms, provider_jobs::JobState, Store,
    StoreError,
};

#[derive(Debug, Serialize, FromRow)]
pub struct InstallationSummary {
    pub configuration_id: String,
    pub team_id: Option<String>,
    /// `connectable` (the popup) or `native` (the Partner API).
    pub kind: String,
    pub source: String,
    pub status: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// When Vercel answered that the installation is disabled (its installer left the team):
    /// an operator can tell its owner before Vercel removes it.
    pub disabled_at: Option<i64>,
    pub links: i64,
    /// A native installation's live resources.
    pub resources: i64,
}

#[derive(Debug, Serialize, FromRow)]
pub struct FailedLink {
    pub configuration_id: String,
    pub project_id: String,
    pub project_name: String,
    pub error: Option<String>,
    pub at: i64,
}

#[derive(Debug, Serialize, FromRow)]
pub struct ParkedJob {
    pub id: String,
    pub kind: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Serialize, FromRow)]
pub struct ParkedEvent {
    pub id: String,
    #[sqlx(rename = "kind")]
    #[serde(rename = "type")]
    pub kind: String,
    pub configuration_id: Option<String>,
    pub attempts: i64,
    /// The last attempt's error.
    pub outcome: Option<String>,
    pub received_at: i64,
}

/// The inbox as a whole: what waits, since when, and what was parked.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct InboxStats {
    pub pending: i64,
    pub oldest_pending_received_at: Option<i64>,
    pub parked: i64,
}

impl Store {
    /// How many installations are in each status.
    pub async fn installation_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT status, COUNT(*) FROM installations GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The newest installations, with how many projects each has linked.
    pub async fn recent_installations(&self, limit: i64) -> Result<Vec<InstallationSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT i.configuration_id, i.team_id, i.kind, i.source, i.status, i.created_at, i.finished_at, \
             i.disabled_at, \
             (SELECT COUNT(*) FROM links l WHERE l.configuration_id = i.configuration_id AND l.status = $1) AS links, \
             (SELECT COUNT(*) FROM native_resources r \
               WHERE r.configuration_id = i.configuration_id AND r.deleted_at IS NULL) AS resources \
             FROM installations i ORDER BY i.created_at DESC, i.configuration_id LIMIT $2",
        )
        .bind(LinkStatus::Linked)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Projects whose last link attempt failed, newest first, on installations still active.
    pub async fn failed_links(&self, limit: i64) -> Result<Vec<FailedLink>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.configuration_id, l.project_id, l.project_name, l.error, l.updated_at AS at \
             FROM links l JOIN installations i ON i.configuration_id = l.configuration_id \
             WHERE l.status = $1 AND i.status = $2 ORDER BY l.updated_at DESC LIMIT $3",
        )
        .bind(LinkStatus::Failed)
        .bind(InstallationStatus::Active)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Calls to the vendor's system that gave up after every retry.
    pub async fn parked_jobs(&self, limit: i64) -> Result<Vec<ParkedJob>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, attempts, last_error, created_at FROM provider_jobs WHERE state = $1 \
             ORDER BY created_at DESC LIMIT $2",
        )
        .bind(JobState::Failed)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn parked_events(&self, limit: i64) -> Result<Vec<ParkedEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, kind, configuration_id, attempts, outcome, received_at FROM webhook_events \
             WHERE state = $1 ORDER BY received_at DESC LIMIT $2",
        )
        .bind(EventState::Failed)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn inbox_stats(&self) -> Result<InboxStats, StoreError> {
        let (pending, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(received_at) FROM webhook_events WHERE state = $1")
                .bind(EventState::Pending)
                .fetch_one(&self.pool)
                .await?;
        let parked = self.count_events_in(EventState::Failed).await?;
        Ok(InboxStats { pending, oldest_pending_received_at: oldest, parked })
    }

    /// Puts a parked event back in the inbox with a fresh set of attempts; false when no parked
    /// event has this id (unknown, or already replayed).
    pub async fn replay_event(&self, id: &str) -> Result<bool, StoreError> {
        let replayed = sqlx::query(
            "UPDATE webhook_events SET state = $1, attempts = 0, next_attempt_at = $2, outcome = NULL \
             WHERE id = $3 AND state = $4",
        )
        .bind(EventState::Pending)
        .bind(now_ms())
        .bind(id)
        .bind(EventState::Failed)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(replayed == 1)
    }
}
