//! Browser sessions: a random id in a cookie, only its hash in the database, bound to one
//! installation and carrying what the popup must remember (`next`, the Deploy Button's project).

use sqlx::FromRow;

use super::now_ms;

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub configuration_id: String,
    pub next_url: String,
    pub current_project_id: Option<String>,
    pub external_id: Option<String>,
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
pub(super) async fn insert_session(conn: &mut crate::store::Conn, session: NewSession<'_>) -> Result<(), sqlx::Error> {
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

#[cfg(feature = "test-support")]
impl super::Store {
    /// Some stored session's hash, for tests that need a colliding id.
    pub async fn any_session_hash(&self) -> Result<Option<String>, super::StoreError> {
        Ok(sqlx::query_scalar("SELECT id_hash FROM sessions LIMIT 1").fetch_optional(&self.pool).await?)
    }
}
