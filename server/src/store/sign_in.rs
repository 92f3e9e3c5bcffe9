//! Signing in: an installation stored together with the browser session bound to it, and a
//! session read back with its installation. Both sides meet here, so neither `installations`
//! nor `sessions` needs the other.

use sqlx::FromRow;

use super::{
    installations::{tombstoned, InstallationRow, InstallationStatus, NewInstallation},
    now_ms,
    project_cache::PROJECT_CACHE_TTL_MS,
    sessions::{insert_session, NewSession, SessionRow},
    Store, StoreError,
};
use crate::params::ConfigurationId;

#[derive(FromRow)]
struct SignedIn {
    next_url: String,
    current_project_id: Option<String>,
    external_id: Option<String>,
    listing: Option<String>,
    #[sqlx(flatten)]
    installation: InstallationRow,
}

/// A live session, its installation, and the installation's project listing when it was asked
/// for and the cache holds a fresh one.
pub struct SignedInRow {
    pub session: SessionRow,
    pub installation: InstallationRow,
    pub listing: Option<String>,
}

impl Store {
    /// Stores the installation (or the new token of one Vercel sent again) and the browser's
    /// session in one transaction: neither exists without the other. Returns `false`, storing
    /// nothing, when Vercel already said this installation was removed: removal is final.
    pub async fn store_installation(
        &self,
        installation: NewInstallation<'_>,
        session: NewSession<'_>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        // Write first, then read: a SQLite transaction that reads before it writes cannot take
        // the write lock once another connection has written meanwhile ("database is locked").
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO installations \
               (configuration_id, team_id, user_id, source, sealed_token, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (configuration_id) DO UPDATE SET \
               sealed_token = excluded.sealed_token, updated_at = excluded.updated_at \
             WHERE installations.kind = 'connectable'",
        )
        .bind(installation.configuration_id.as_str())
        .bind(installation.team_id)
        .bind(installation.user_id)
        .bind(installation.source)
        .bind(installation.sealed_token)
        .bind(InstallationStatus::Active)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // A native installation's token is Vercel's Partner API PUT's alone: a popup that names
        // one (Vercel never sends it there) signs nothing in, like a removed one.
        if tombstoned(&mut tx, installation.configuration_id).await?
            || super::native::is_native(&mut tx, installation.configuration_id).await?
        {
            return Ok(false);
        }
        insert_session(&mut tx, session).await?;
        // A new popup starts from what Vercel lists now (a Deploy Button just made a project).
        super::project_cache::forget_projects(&mut tx, installation.configuration_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The live session with this id hash, if it is bound to this installation, with the
    /// installation: one query, as every authorized request needs both. With `listing`, the
    /// same query brings the fresh cached project listing (see `cached_projects`): the install
    /// page needs all three, and on SQLite each query is a hand-off to the connection's thread
    /// and back, which under load cost more CPU than the page itself.
    pub async fn signed_in(
        &self,
        id_hash: &str,
        configuration_id: &ConfigurationId,
        listing: bool,
    ) -> Result<Option<SignedInRow>, StoreError> {
        let now = now_ms();
        let row: Option<SignedIn> = sqlx::query_as(
            "SELECT s.next_url, s.current_project_id, s.external_id, c.projects AS listing, \
             i.configuration_id, i.team_id, i.user_id, i.source, i.sealed_token, i.status, i.finished_at, i.vendor_account, i.disabled_at \
             FROM sessions s JOIN installations i ON i.configuration_id = s.configuration_id \
             LEFT JOIN project_cache c ON $4 AND c.configuration_id = s.configuration_id AND c.fetched_at > $5 \
             WHERE s.id_hash = $1 AND s.configuration_id = $2 AND s.expires_at > $3 AND i.kind = 'connectable'",
        )
        .bind(id_hash)
        .bind(configuration_id.as_str())
        .bind(now)
        .bind(listing)
        .bind(now - PROJECT_CACHE_TTL_MS)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| SignedInRow {
            session: SessionRow {
                configuration_id: row.installation.configuration_id.clone(),
                next_url: row.next_url,
                current_project_id: row.current_project_id,
                external_id: row.external_id,
            },
            installation: row.installation,
            listing: row.listing,
        }))
    }
}
