//! The writes webhook effects make, each inside the claim's transaction (see `inbox::Claim`):
//! `webhook::effects` decides what an event means, this module is how it is stored.

use crate::{params::ConfigurationId, store::Conn};

use super::{installations::InstallationStatus, links::LinkStatus, now_ms};

type Result<T> = std::result::Result<T, sqlx::Error>;

/// The owner an event names when it names no installation: a team, or a user's personal scope.
pub enum Owner<'a> {
    Team(&'a str),
    User(&'a str),
}

/// The active installations of an owner.
pub async fn active_installations_of(conn: &mut Conn, owner: Owner<'_>) -> Result<Vec<ConfigurationId>> {
    let (sql, id) = match owner {
        Owner::Team(team) => ("SELECT configuration_id FROM installations WHERE team_id = $1 AND status = $2", team),
        Owner::User(user) => {
            ("SELECT configuration_id FROM installations WHERE user_id = $1 AND team_id IS NULL AND status = $2", user)
        }
    };
    let ids: Vec<String> =
        sqlx::query_scalar(sql).bind(id).bind(InstallationStatus::Active).fetch_all(&mut *conn).await?;
    // Stored only after parsing: each parses again.
    Ok(ids.iter().filter_map(|id| ConfigurationId::parse(id).ok()).collect())
}

/// An installation moved to another team (`integration-configuration.transferred`).
/// A transfer also brings a disabled installation back: an owner gave it to a current member.
pub async fn move_to_team(conn: &mut Conn, configuration_id: &ConfigurationId, team_id: &str) -> Result<()> {
    sqlx::query("UPDATE installations SET team_id = $1, disabled_at = NULL WHERE configuration_id = $2")
        .bind(team_id)
        .bind(configuration_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The provider's account for an installation: the vendor account linked, else its Vercel owner
/// (team, else user), as `InstallationRow::owner_id`.
pub async fn owner_of(conn: &mut Conn, configuration_id: &ConfigurationId) -> Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT COALESCE(vendor_account, team_id, user_id) FROM installations WHERE configuration_id = $1",
    )
    .bind(configuration_id.as_str())
    .fetch_optional(&mut *conn)
    .await
}

/// Closes a link whose project the installation can no longer see; Vercel removed the
/// variables with the access, so what Tether recorded of them goes too.
pub async fn close_link(conn: &mut Conn, configuration_id: &ConfigurationId, project_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM env_vars WHERE configuration_id = $1 AND project_id = $2")
        .bind(configuration_id.as_str())
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE links SET status = $1, updated_at = $2 WHERE configuration_id = $3 AND project_id = $4")
        .bind(LinkStatus::Closed)
        .bind(now_ms())
        .bind(configuration_id.as_str())
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A project's new name, wherever an installation's links show it. Names are bounded as a
/// project's is at Vercel (100 characters), whatever the event says.
pub async fn rename_project(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    project_id: &str,
    name: &str,
) -> Result<()> {
    let name: String = name.chars().take(100).collect();
    sqlx::query("UPDATE links SET project_name = $1, updated_at = $2 WHERE configuration_id = $3 AND project_id = $4")
        .bind(name)
        .bind(now_ms())
        .bind(configuration_id.as_str())
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn is_linked(conn: &mut Conn, configuration_id: &ConfigurationId, project_id: &str) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM links WHERE configuration_id = $1 AND project_id = $2 AND status = $3")
            .bind(configuration_id.as_str())
            .bind(project_id)
            .bind(LinkStatus::Linked)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Keeps the newest record per project and kind, whatever order events arrive in.
pub async fn record_project_event(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    project_id: &str,
    kind: &str,
    detail: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO project_events (configuration_id, project_id, kind, detail, event_created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (configuration_id, project_id, kind) DO UPDATE SET \
           detail = excluded.detail, event_created_at = excluded.event_created_at \
         WHERE excluded.event_created_at >= project_events.event_created_at",
    )
    .bind(configuration_id.as_str())
    .bind(project_id)
    .bind(kind)
    .bind(detail)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
