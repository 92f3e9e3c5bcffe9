//! What Tether may forget, and when: expired sessions, used code and state hashes once Vercel
//! would refuse the code anyway, applied webhook events once they are past the replay window,
//! and rate-limit rows once their client has its whole allowance back. Run periodically, so no table grows with traffic alone.

use super::{Store, StoreError};

/// Codes live 30 minutes at Vercel and states 10 here: a hash older than an hour guards nothing.
pub const USED_CODE_RETENTION_MS: i64 = 60 * 60 * 1000;
/// Applied events are kept well past the 48 h replay window, for the operator's record.
pub const APPLIED_EVENT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub codes: u64,
    pub events: u64,
    pub rate_limits: u64,
    pub provider_jobs: u64,
    pub project_lists: u64,
}

/// Row counts of the tables traffic grows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub sessions: i64,
    pub used_codes: i64,
    pub webhook_events: i64,
    pub rate_limits: i64,
}

impl Store {
    /// Deletes what has expired as of `now` (Unix ms; a parameter so tests can drive the clock).
    pub async fn purge(&self, now: i64) -> Result<Purged, StoreError> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        let codes = sqlx::query("DELETE FROM used_codes WHERE used_at < $1")
            .bind(now - USED_CODE_RETENTION_MS)
            .execute(&self.pool)
            .await?;
        let events = sqlx::query("DELETE FROM webhook_events WHERE state = $1 AND processed_at < $2")
            .bind(super::inbox::EventState::Done)
            .bind(now - APPLIED_EVENT_RETENTION_MS)
            .execute(&self.pool)
            .await?;
        // A client whose next request is already due has its whole allowance again: the row says
        // nothing more than its absence would.
        let rate_limits =
            sqlx::query("DELETE FROM rate_limits WHERE due_at < $1").bind(now).execute(&self.pool).await?;
        // Sent jobs are kept as long as applied events, for the operator's record.
        let jobs = sqlx::query("DELETE FROM provider_jobs WHERE state = $1 AND done_at < $2")
            .bind(super::provider_jobs::JobState::Done)
            .bind(now - APPLIED_EVENT_RETENTION_MS)
            .execute(&self.pool)
            .await?;
        // A stale list is never served; dropping it keeps the table to the installations in use.
        let lists = sqlx::query("DELETE FROM project_cache WHERE fetched_at < $1")
            .bind(now - super::project_cache::PROJECT_CACHE_TTL_MS)
            .execute(&self.pool)
            .await?;
        Ok(Purged {
            project_lists: lists.rows_affected(),
            provider_jobs: jobs.rows_affected(),
            sessions: sessions.rows_affected(),
            codes: codes.rows_affected(),
            events: events.rows_affected(),
            rate_limits: rate_limits.rows_affected(),
        })
    }

    #[cfg(feature = "test-support")]
    pub async fn sizes(&self) -> Result<Sizes, StoreError> {
        Ok(Sizes {
            sessions: self.count("sessions").await?,
            used_codes: self.count("used_codes").await?,
            webhook_events: self.count("webhook_events").await?,
            rate_limits: self.count("rate_limits").await?,
        })
    }

    #[cfg(feature = "test-support")]
    async fn count(&self, table: &'static str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&self.pool).await
    }

    #[cfg(feature = "test-support")]
    /// Moves every timestamp these tables hold back by `ms`: simulated time passing, for tests and
    /// drills of the retention rules (never called by the server).
    pub async fn age_by(&self, ms: i64) -> Result<(), StoreError> {
        for sql in [
            "UPDATE sessions SET created_at = created_at - $1, expires_at = expires_at - $1",
            "UPDATE used_codes SET used_at = used_at - $1",
            "UPDATE rate_limits SET due_at = due_at - $1",
            "UPDATE webhook_events SET received_at = received_at - $1, created_at = created_at - $1, \
             processed_at = processed_at - $1, next_attempt_at = next_attempt_at - $1",
            "UPDATE project_cache SET fetched_at = fetched_at - $1",
        ] {
            sqlx::query(sql).bind(ms).execute(&self.pool).await?;
        }
        Ok(())
    }
}
