//! Sessions opened by single sign-on from Vercel (migration 0013), and the projects native
//! resources are connected to. A signed-in Vercel user sees their installation's resources and
//! where Vercel connected them; nothing here is a popup's.

use sqlx::FromRow;

use super::{
    installations::InstallationStatus,
    native::{InstallationKind, NativeResourceRow, RESOURCE_COLUMNS},
    now_ms, Conn, Store, StoreError,
};
use crate::params::ConfigurationId;

/// A session for a Vercel user signed in by SSO.
pub struct NewSsoSession<'a> {
    pub id_hash: &'a str,
    pub configuration_id: &'a ConfigurationId,
    pub user_id: &'a str,
    /// `ADMIN` or `USER`, as Vercel's `id_token` said.
    pub role: &'a str,
    /// Where "back to Vercel" leads.
    pub back_url: &'a str,
    pub lifetime_ms: i64,
}

/// Who a live SSO session signed in.
#[derive(Debug, Clone, FromRow)]
pub struct SsoSessionRow {
    pub user_id: String,
    pub role: String,
    pub next_url: String,
}

impl SsoSessionRow {
    /// Vercel made the user an admin of the team; anyone else only looks.
    pub fn is_admin(&self) -> bool {
        // As the sign-in stored it: Vercel's spelling (`vercel::oidc::Role::as_str`).
        self.role == "ADMIN"
    }
}

/// A project a native resource is connected to.
#[derive(Debug, Clone, FromRow)]
pub struct ConnectionRow {
    pub resource_id: String,
    pub project_id: String,
    pub project_name: Option<String>,
}

impl Store {
    /// Opens the session, only for a live native installation: `false`, storing nothing, for an
    /// unknown, removed or popup installation.
    pub async fn open_sso_session(&self, session: NewSsoSession<'_>) -> Result<bool, StoreError> {
        let now = now_ms();
        let opened = sqlx::query(
            "INSERT INTO sessions (id_hash, configuration_id, next_url, vercel_user_id, role, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS ( \
               SELECT 1 FROM installations WHERE configuration_id = $2 AND kind = $8 AND status = $9)",
        )
        .bind(session.id_hash)
        .bind(session.configuration_id.as_str())
        .bind(session.back_url)
        .bind(session.user_id)
        .bind(session.role)
        .bind(now)
        .bind(now + session.lifetime_ms)
        .bind(InstallationKind::Native)
        .bind(InstallationStatus::Active)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(opened == 1)
    }

    /// The Vercel user a live SSO session signed in to this live native installation.
    pub async fn sso_session(
        &self,
        id_hash: &str,
        configuration_id: &ConfigurationId,
    ) -> Result<Option<SsoSessionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.vercel_user_id AS user_id, s.role, s.next_url \
             FROM sessions s JOIN installations i ON i.configuration_id = s.configuration_id \
             WHERE s.id_hash = $1 AND s.configuration_id = $2 AND s.expires_at > $3 \
               AND s.vercel_user_id IS NOT NULL AND s.role IS NOT NULL AND i.kind = $4 AND i.status = $5",
        )
        .bind(id_hash)
        .bind(configuration_id.as_str())
        .bind(now_ms())
        .bind(InstallationKind::Native)
        .bind(InstallationStatus::Active)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The installation's live resources, oldest first.
    pub async fn native_resources_of(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Vec<NativeResourceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM native_resources \
             WHERE configuration_id = $1 AND deleted_at IS NULL ORDER BY created_at, id"
        ))
        .bind(configuration_id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every project the installation's live resources are connected to.
    pub async fn native_connections(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT c.resource_id, c.project_id, c.project_name \
             FROM native_connections c JOIN native_resources r ON r.id = c.resource_id \
             WHERE r.configuration_id = $1 AND r.deleted_at IS NULL ORDER BY c.connected_at, c.project_id",
        )
        .bind(configuration_id.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Vercel connected a resource to a project (again: the newer name wins).
pub async fn connect(
    conn: &mut Conn,
    resource_id: &str,
    project_id: &str,
    name: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO native_connections (resource_id, project_id, project_name, connected_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (resource_id, project_id) DO UPDATE SET project_name = COALESCE(excluded.project_name, native_connections.project_name)",
    )
    .bind(resource_id)
    .bind(project_id)
    .bind(name)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Vercel disconnected a resource from a project.
pub async fn disconnect(conn: &mut Conn, resource_id: &str, project_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM native_connections WHERE resource_id = $1 AND project_id = $2")
        .bind(resource_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
