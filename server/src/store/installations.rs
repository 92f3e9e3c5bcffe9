//! Installations (one per Vercel `configurationId`) and the codes already spent on them.

use sqlx::FromRow;

use super::{now_ms, Store, StoreError};
use crate::params::ConfigurationId;
use crate::params::Source;

#[derive(Debug, Clone, FromRow)]
pub struct InstallationRow {
    pub configuration_id: String,
    pub team_id: Option<String>,
    pub user_id: String,
    pub source: Source,
    pub sealed_token: Vec<u8>,
    pub status: InstallationStatus,
    pub finished_at: Option<i64>,
    /// The vendor's account, once the user linked one (see `install::account`).
    pub vendor_account: Option<String>,
    /// When Vercel last answered that the installation is disabled (see migration 0011).
    pub disabled_at: Option<i64>,
}

impl InstallationRow {
    /// Whose resources this installation sees: the vendor account the user linked, else the
    /// team, else the user on a personal account.
    pub fn owner_id(&self) -> &str {
        self.vendor_account.as_deref().or(self.team_id.as_deref()).unwrap_or(&self.user_id)
    }
}

/// The associated data a token is sealed with: it only opens in its own row.
pub fn token_binding(configuration_id: &str) -> String {
    format!("installation-token:{configuration_id}")
}

impl Store {
    /// Records the vendor account the vendor asserted for an installation.
    pub async fn link_vendor_account(
        &self,
        configuration_id: &ConfigurationId,
        account: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE installations SET vendor_account = $1, updated_at = $2 WHERE configuration_id = $3")
            .bind(account)
            .bind(now_ms())
            .bind(configuration_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claims a code. False when it was claimed before: a replay, or a concurrent duplicate.
    pub async fn claim_code(&self, code_hash: &str, configuration_id: &ConfigurationId) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO used_codes (code_hash, configuration_id, used_at) VALUES ($1, $2, $3) \
             ON CONFLICT (code_hash) DO NOTHING",
        )
        .bind(code_hash)
        .bind(configuration_id.as_str())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Whether Vercel said this installation was removed (a tombstone, with or without a row).
    pub async fn is_removed(&self, configuration_id: &ConfigurationId) -> Result<bool, StoreError> {
        Ok(tombstoned(&mut *self.pool.acquire().await?, configuration_id).await?)
    }

    pub async fn installation(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Option<InstallationRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT configuration_id, team_id, user_id, source, sealed_token, status, finished_at, vendor_account, \
             disabled_at FROM installations WHERE configuration_id = $1",
        )
        .bind(configuration_id.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records what Vercel answered of the installation: disabled (its installer left the
    /// team) or working again. Returns whether that changed what was recorded.
    pub async fn set_disabled(&self, configuration_id: &ConfigurationId, disabled: bool) -> Result<bool, StoreError> {
        let result = if disabled {
            sqlx::query(
                "UPDATE installations SET disabled_at = $1, updated_at = $1 \
                 WHERE configuration_id = $2 AND disabled_at IS NULL",
            )
            .bind(now_ms())
            .bind(configuration_id.as_str())
            .execute(&self.pool)
            .await?
        } else {
            sqlx::query(
                "UPDATE installations SET disabled_at = NULL, updated_at = $1 \
                 WHERE configuration_id = $2 AND disabled_at IS NOT NULL",
            )
            .bind(now_ms())
            .bind(configuration_id.as_str())
            .execute(&self.pool)
            .await?
        };
        Ok(result.rows_affected() == 1)
    }

    pub async fn mark_finished(&self, configuration_id: &ConfigurationId) -> Result<(), StoreError> {
        sqlx::query("UPDATE installations SET finished_at = COALESCE(finished_at, $1) WHERE configuration_id = $2")
            .bind(now_ms())
            .bind(configuration_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// After an uninstall from the Configure page; the webhook path calls `mark_removed` itself.
    pub async fn mark_uninstalled(&self, configuration_id: &ConfigurationId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        mark_removed(&mut tx, configuration_id, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the installation was removed, if it was, for a browser whose session was bound to it.
    pub async fn removed_for_session(
        &self,
        id_hash: &str,
        configuration_id: &ConfigurationId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT i.removed_at FROM installations i JOIN sessions s ON s.configuration_id = i.configuration_id \
             WHERE s.id_hash = $1 AND i.configuration_id = $2 AND i.status = $3",
        )
        .bind(id_hash)
        .bind(configuration_id.as_str())
        .bind(InstallationStatus::Uninstalled)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    #[cfg(feature = "test-support")]
    pub async fn count_installations(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM installations").fetch_one(&self.pool).await?)
    }
}

/// Whether an installation can act: removal (a webhook, or Uninstall on the Configure page) is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallationStatus {
    Active,
    Uninstalled,
}

text_enum!(InstallationStatus { Active => "active", Uninstalled => "uninstalled" });

text_column!(Source { Marketplace => "marketplace", External => "external", DeployButton => "deploy-button" });

pub(super) async fn tombstoned(
    conn: &mut crate::store::Conn,
    configuration_id: &ConfigurationId,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM removed_configurations WHERE configuration_id = $1")
        .bind(configuration_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// A new installation as the callback learnt it.
pub struct NewInstallation<'a> {
    pub configuration_id: &'a ConfigurationId,
    pub team_id: Option<&'a str>,
    pub user_id: &'a str,
    pub source: Source,
    pub sealed_token: &'a [u8],
}

/// The token is destroyed, the links closed, and the records of env vars dropped (Vercel removes
/// those variables itself). Sessions stay, powerless, so their browser can be told what happened.
pub async fn mark_removed(
    conn: &mut crate::store::Conn,
    configuration_id: &ConfigurationId,
    at: i64,
) -> Result<(), sqlx::Error> {
    // The tombstone stands even when no row exists yet: a later callback cannot bring it back.
    sqlx::query(
        "INSERT INTO removed_configurations (configuration_id, removed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(configuration_id.as_str())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE installations SET status = $1, sealed_token = $2, updated_at = $3, \
         removed_at = COALESCE(removed_at, $4) WHERE configuration_id = $5",
    )
    .bind(InstallationStatus::Uninstalled)
    .bind(&[] as &[u8])
    .bind(now_ms())
    .bind(at)
    .bind(configuration_id.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM env_vars WHERE configuration_id = $1")
        .bind(configuration_id.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE links SET status = $1, updated_at = $2 WHERE configuration_id = $3")
        .bind(super::links::LinkStatus::Closed)
        .bind(now_ms())
        .bind(configuration_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
