//! The rate limiter's bookkeeping (see `limits.rs`): one atomic statement per request, so
//! instances sharing the database never both spend the same allowance.

use super::{Store, StoreError};

impl Store {
    /// Spends one request from `bucket`'s allowance (`burst` at once, one more every
    /// `interval_ms`). `None` when allowed; otherwise how many ms until the next one would be.
    pub async fn take_rate(
        &self,
        bucket: &str,
        now: i64,
        interval_ms: i64,
        burst: i64,
    ) -> Result<Option<i64>, StoreError> {
        // How far ahead of now the next due time may run: the burst.
        let tolerance = interval_ms * (burst - 1);
        // Both sides of each SET read the row as it was; the due time moves only when allowed.
        let (due_at, allowed): (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_limits (bucket, due_at, allowed) VALUES ($1, $2 + $3, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
               allowed = CASE WHEN rate_limits.due_at - $2 <= $4 THEN 1 ELSE 0 END, \
               due_at = CASE WHEN rate_limits.due_at - $2 > $4 THEN rate_limits.due_at \
                             WHEN rate_limits.due_at > $2 THEN rate_limits.due_at + $3 \
                             ELSE $2 + $3 END \
             RETURNING due_at, allowed",
        )
        .bind(bucket)
        .bind(now)
        .bind(interval_ms)
        .bind(tolerance)
        .fetch_one(&self.pool)
        .await?;
        Ok((allowed == 0).then(|| due_at - now - tolerance))
    }
}
