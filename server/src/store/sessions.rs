//! Browser sessions: a random id in a cookie, only its hash in the database, bound to one
//! installation and carrying what the popup must remember (`next`, the Deploy Button's project).

use sqlx::FromRow;

use super::{installations::InstallationRow, now_ms, project_cache::PROJECT_CACHE_TTL_MS, Store, StoreError};

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub configuration_id: String,
    pub next_url: String,
    pub current_project_id: Option<String>,
    pub external_id: Option<String>,
}

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

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub configuration_id: &'a str,
    pub next_url: &'a str,
    pub current_project_id: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub lifetime_ms: i64,
}

/// Part of storing an installation: see `Store::store_installation`.
pub(crate) async fn insert_session(conn: &mut crate::store::Conn, session: NewSession<'_>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, configuration_id, next_url, current_project_id, external_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(session.id_hash)
    .bind(session.configuration_id)
    .bind(session.next_url)
    .bind(session.current_project_id)
    .bind(session.external_id)
    .bind(now)
    .bind(now + session.lifetime_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// The live session with this id hash, if it is bound to this installation, with the
    /// installation: one query, as every authorized request needs both. With `listing`, the
    /// same query brings the fresh cached project listing (see `cached_projects`): the install
    /// page needs all three, and on SQLite each query is a hand-off to the connection's thread
    /// and back, which under load cost more CPU than the page itself.
    pub async fn signed_in(
        &self,
        id_hash: &str,
        configuration_id: &str,
        listing: bool,
    ) -> Result<Option<SignedInRow>, StoreError> {
        let now = now_ms();
        let row: Option<SignedIn> = sqlx::query_as(
            "SELECT s.next_url, s.current_project_id, s.external_id, c.projects AS listing, \
             i.configuration_id, i.team_id, i.user_id, i.source, i.sealed_token, i.status, i.finished_at, i.vendor_account, i.disabled_at \
             FROM sessions s JOIN installations i ON i.configuration_id = s.configuration_id \
             LEFT JOIN project_cache c ON $4 AND c.configuration_id = s.configuration_id AND c.fetched_at > $5 \
             WHERE s.id_hash = $1 AND s.configuration_id = $2 AND s.expires_at > $3",
        )
        .bind(id_hash)
        .bind(configuration_id)
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

    /// Some stored session's hash, for tests that need a colliding id.
    pub async fn any_session_hash(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id_hash FROM sessions LIMIT 1").fetch_optional(&self.pool).await?)
    }
}
