//! The project list cache (migration 0009): what Vercel last listed for an installation (the
//! account's name and its projects, as JSON).

use super::{now_ms, Conn, Store, StoreError};
use crate::params::ConfigurationId;

/// How long a listed project set is served without asking Vercel again.
pub const PROJECT_CACHE_TTL_MS: i64 = 60_000;

impl Store {
    /// The cached list as stored (JSON), when it is younger than `max_age_ms` (the page asks
    /// for [`PROJECT_CACHE_TTL_MS`]).
    pub async fn cached_projects(
        &self,
        configuration_id: &ConfigurationId,
        max_age_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT projects FROM project_cache WHERE configuration_id = $1 AND fetched_at > $2")
            .bind(configuration_id.as_str())
            .bind(now_ms().saturating_sub(max_age_ms))
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn cache_projects(&self, configuration_id: &ConfigurationId, projects: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_cache (configuration_id, projects, fetched_at) VALUES ($1, $2, $3) \
             ON CONFLICT (configuration_id) DO UPDATE SET projects = excluded.projects, fetched_at = excluded.fetched_at",
        )
        .bind(configuration_id.as_str())
        .bind(projects)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Inside a webhook's transaction or an install's: the next page load asks Vercel.
pub async fn forget_projects(conn: &mut Conn, configuration_id: &ConfigurationId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM project_cache WHERE configuration_id = $1")
        .bind(configuration_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
