//! Installations (one per Vercel `configurationId`) and the codes already spent on them.

use sqlx::FromRow;

use super::{now_ms, Store, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct InstallationRow {
    pub configuration_id: String,
    pub team_id: Option<String>,
    pub user_id: String,
    pub source: String,
    pub sealed_token: Vec<u8>,
    pub status: String,
    pub finished_at: Option<i64>,
}

impl InstallationRow {
    /// Whose resources this installation sees: the team, or the user on a personal account.
    pub fn owner_id(&self) -> &str {
        self.team_id.as_deref().unwrap_or(&self.user_id)
    }
}

/// The associated data a token is sealed with: it only opens in its own row.
pub fn token_binding(configuration_id: &str) -> String {
    format!("installation-token:{configuration_id}")
}

impl Store {
    /// Claims a code. False when it was claimed before: a replay, or a concurrent duplicate.
    pub async fn claim_code(&self, code_hash: &str, configuration_id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO used_codes (code_hash, configuration_id, used_at) VALUES (?, ?, ?) \
             ON CONFLICT (code_hash) DO NOTHING",
        )
        .bind(code_hash)
        .bind(configuration_id)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Inserts the installation, or replaces the token of the one Vercel sent again.
    pub async fn upsert_installation(
        &self,
        configuration_id: &str,
        team_id: Option<&str>,
        user_id: &str,
        source: &str,
        sealed_token: &[u8],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO installations \
               (configuration_id, team_id, user_id, source, sealed_token, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, 'active', ?, ?) \
             ON CONFLICT (configuration_id) DO UPDATE SET \
               sealed_token = excluded.sealed_token, status = 'active', updated_at = excluded.updated_at",
        )
        .bind(configuration_id)
        .bind(team_id)
        .bind(user_id)
        .bind(source)
        .bind(sealed_token)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn installation(&self, configuration_id: &str) -> Result<Option<InstallationRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT configuration_id, team_id, user_id, source, sealed_token, status, finished_at \
             FROM installations WHERE configuration_id = ?",
        )
        .bind(configuration_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn mark_finished(&self, configuration_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE installations SET finished_at = COALESCE(finished_at, ?) WHERE configuration_id = ?")
            .bind(now_ms())
            .bind(configuration_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// After an uninstall: the token is destroyed, sessions end, and the env var records go
    /// (Vercel removes those variables itself). Links stay as history, marked closed.
    pub async fn mark_uninstalled(&self, configuration_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        sqlx::query(
            "UPDATE installations SET status = 'uninstalled', sealed_token = x'', updated_at = ? WHERE configuration_id = ?",
        )
        .bind(now)
        .bind(configuration_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE configuration_id = ?").bind(configuration_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM env_vars WHERE configuration_id = ?").bind(configuration_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE links SET status = 'closed', updated_at = ? WHERE configuration_id = ?")
            .bind(now)
            .bind(configuration_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_installations(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM installations").fetch_one(&self.pool).await?)
    }
}
