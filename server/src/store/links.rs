//! Links between a Vercel project and a vendor resource, and the env vars Tether wrote for them.

use sqlx::FromRow;

use super::{now_ms, Store, StoreError};
use crate::params::ConfigurationId;

#[derive(Debug, Clone, Hash, FromRow)]
pub struct LinkRow {
    pub project_id: String,
    pub project_name: String,
    pub resource_id: Option<String>,
    pub status: LinkStatus,
    /// What the status needs said (the `error` column): a `Failed` link's message, or a
    /// `Clash`'s keys, which [`LinkRow::clash_keys`] reads.
    #[sqlx(rename = "error")]
    pub detail: Option<String>,
    /// Where `resource_id` came from; none for links recorded before origins were.
    pub origin: Option<Origin>,
}

/// How a clash's keys are kept in a link's detail.
pub const CLASH_KEY_SEPARATOR: &str = ", ";

impl LinkRow {
    /// The keys of a clash: variables of these names exist in the project, made by someone else.
    pub fn clash_keys(&self) -> Vec<String> {
        match (self.status, self.detail.as_deref()) {
            (LinkStatus::Clash, Some(keys)) => keys.split(CLASH_KEY_SEPARATOR).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }
}

/// Where a link between a project and a resource stands, stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkStatus {
    /// Chosen, and being written: after a crash, an interrupted link to finish or undo.
    Provisioning,
    /// Every variable written and recorded.
    Linked,
    /// The last attempt failed; `error` says why.
    Failed,
    /// Stopped before writing: same-named variables made outside Tether; `error` holds their keys.
    Clash,
    /// Vercel took the project away (a webhook); kept as history.
    Closed,
}

text_enum!(LinkStatus { Provisioning => "provisioning", Linked => "linked", Failed => "failed", Clash => "clash", Closed => "closed" });

/// Where a link's resource came from, for its installation (migration 0010). Tether only ever
/// asks the vendor to release a resource it created; what the user connected is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Created by the vendor at Tether's request, for this installation.
    Created,
    /// Existed already; the user chose it.
    Connected,
}

text_enum!(Origin { Created => "created", Connected => "connected" });

/// One project's progress, as `set_link` records it.
pub struct LinkProgress<'a> {
    pub project_id: &'a str,
    pub project_name: &'a str,
    pub resource_id: Option<&'a str>,
    /// With `resource_id`: where it came from.
    pub origin: Option<Origin>,
    pub external_id: Option<&'a str>,
    pub status: LinkStatus,
    pub error: Option<&'a str>,
}

/// What Tether keeps of a variable it wrote at Vercel (a `vercel::env::WrittenEnv`): Vercel's
/// id, so Disconnect removes exactly it, with its key, kind and targets (comma-separated).
pub struct EnvRecord {
    pub vercel_env_id: String,
    pub key: String,
    /// Vercel's type of variable (`plain`, `encrypted`, `sensitive`).
    pub kind: &'static str,
    pub targets: String,
}

impl Store {
    pub async fn links_of(&self, configuration_id: &ConfigurationId) -> Result<Vec<LinkRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT project_id, project_name, resource_id, status, error, origin FROM links WHERE configuration_id = $1",
        )
        .bind(configuration_id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn link(
        &self,
        configuration_id: &ConfigurationId,
        project_id: &str,
    ) -> Result<Option<LinkRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT project_id, project_name, resource_id, status, error, origin FROM links \
             WHERE configuration_id = $1 AND project_id = $2",
        )
        .bind(configuration_id.as_str())
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records progress on one project; a resource once chosen is kept so a retry reuses it.
    pub async fn set_link(
        &self,
        configuration_id: &ConfigurationId,
        progress: LinkProgress<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO links (configuration_id, project_id, project_name, resource_id, external_id, status, error, \
               updated_at, origin) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (configuration_id, project_id) DO UPDATE SET \
               resource_id = COALESCE(excluded.resource_id, links.resource_id), \
               origin = CASE WHEN excluded.resource_id IS NULL THEN links.origin ELSE excluded.origin END, \
               external_id = COALESCE(excluded.external_id, links.external_id), \
               status = excluded.status, error = excluded.error, updated_at = excluded.updated_at",
        )
        .bind(configuration_id.as_str())
        .bind(progress.project_id)
        .bind(progress.project_name)
        .bind(progress.resource_id)
        .bind(progress.external_id)
        .bind(progress.status)
        .bind(progress.error)
        .bind(now_ms())
        .bind(progress.origin)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the link done and remembers Vercel's ids for exactly the vars it created, in one transaction.
    pub async fn complete_link(
        &self,
        configuration_id: &ConfigurationId,
        project_id: &str,
        created: &[EnvRecord],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        for var in created {
            sqlx::query(
                "INSERT INTO env_vars (configuration_id, project_id, vercel_env_id, key, kind, targets, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (project_id, vercel_env_id) DO UPDATE SET \
                 key = excluded.key, kind = excluded.kind, targets = excluded.targets",
            )
            .bind(configuration_id.as_str())
            .bind(project_id)
            .bind(&var.vercel_env_id)
            .bind(&var.key)
            .bind(var.kind)
            .bind(&var.targets)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE links SET status = $1, error = NULL, updated_at = $2 WHERE configuration_id = $3 AND project_id = $4",
        )
        .bind(LinkStatus::Linked)
        .bind(now)
        .bind(configuration_id.as_str())
        .bind(project_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[cfg(feature = "test-support")]
    pub async fn link_external_id(
        &self,
        configuration_id: &ConfigurationId,
        project_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT external_id FROM links WHERE configuration_id = $1 AND project_id = $2")
            .bind(configuration_id.as_str())
            .bind(project_id)
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    /// The env vars Tether created for an installation: (project id, Vercel's id, key).
    pub async fn env_vars_of(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT project_id, vercel_env_id, key FROM env_vars WHERE configuration_id = $1 ORDER BY project_id, key",
        )
        .bind(configuration_id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// What webhooks reported per project: (project id, kind, detail).
    pub async fn project_events_of(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT project_id, kind, detail FROM project_events WHERE configuration_id = $1 ORDER BY event_created_at",
        )
        .bind(configuration_id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn forget_env_var(&self, project_id: &str, vercel_env_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM env_vars WHERE project_id = $1 AND vercel_env_id = $2")
            .bind(project_id)
            .bind(vercel_env_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether Tether created this resource for this installation (for another of its projects).
    pub async fn created_here(
        &self,
        configuration_id: &ConfigurationId,
        resource_id: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM links WHERE configuration_id = $1 AND resource_id = $2 AND origin = $3 LIMIT 1",
        )
        .bind(configuration_id.as_str())
        .bind(resource_id)
        .bind(Origin::Created)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// A transaction for a change whose consequences for the vendor (see `provider::outbox`)
    /// must be written with it.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// Deletes a link; returns the resource it had and where that came from.
pub async fn remove_link(
    conn: &mut super::Conn,
    configuration_id: &ConfigurationId,
    project_id: &str,
) -> Result<Option<(String, Option<Origin>)>, sqlx::Error> {
    let had = resource_of_link(conn, configuration_id, project_id).await?;
    sqlx::query("DELETE FROM links WHERE configuration_id = $1 AND project_id = $2")
        .bind(configuration_id.as_str())
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(had)
}

/// The link's resource and its origin, whatever the link's status.
pub async fn resource_of_link(
    conn: &mut super::Conn,
    configuration_id: &ConfigurationId,
    project_id: &str,
) -> Result<Option<(String, Option<Origin>)>, sqlx::Error> {
    let had: Option<(Option<String>, Option<Origin>)> =
        sqlx::query_as("SELECT resource_id, origin FROM links WHERE configuration_id = $1 AND project_id = $2")
            .bind(configuration_id.as_str())
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(had.and_then(|(resource, origin)| resource.map(|r| (r, origin))))
}

/// Whether any installation acting for `account` (other than `except`) links the resource now.
pub async fn linked_elsewhere(
    conn: &mut super::Conn,
    account: &str,
    resource_id: &str,
    except: Option<&ConfigurationId>,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM links l JOIN installations i ON i.configuration_id = l.configuration_id \
         WHERE l.resource_id = $1 AND l.status = $2 AND l.configuration_id != $3 \
           AND COALESCE(i.vendor_account, i.team_id, i.user_id) = $4 LIMIT 1",
    )
    .bind(resource_id)
    .bind(LinkStatus::Linked)
    .bind(except.map_or("", ConfigurationId::as_str))
    .bind(account)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// The resources Tether created for an installation, whichever of its links still names them.
pub async fn created_for(
    conn: &mut super::Conn,
    configuration_id: &ConfigurationId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT resource_id FROM links WHERE configuration_id = $1 AND origin = $2 \
         AND resource_id IS NOT NULL ORDER BY resource_id",
    )
    .bind(configuration_id.as_str())
    .bind(Origin::Created)
    .fetch_all(&mut *conn)
    .await
}

impl Store {
    pub async fn env_var_ids(
        &self,
        configuration_id: &ConfigurationId,
        project_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT vercel_env_id FROM env_vars WHERE configuration_id = $1 AND project_id = $2 ORDER BY key",
        )
        .bind(configuration_id.as_str())
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
