//! What a vendor told Tether of its native installations through the contract's calls to Tether
//! (migration 0014): a resource's status and notification, the installation's notification, a
//! resource brought in. Each is kept with the `webhook-timestamp` of the call that said it, and
//! an older call arriving late changes nothing: Vercel hears the latest when the push runs.

use super::{
    native::{insert_resource, NativeResourceRow},
    Conn,
};
use crate::params::ConfigurationId;

/// Keeps what the vendor said of its resource `vendor_id`, unless a later call said otherwise
/// first. Tether's id of the resource while it is live in the installation, else `None`.
pub async fn say_resource(
    conn: &mut Conn,
    installation: &ConfigurationId,
    vendor_id: &str,
    status: &str,
    notification: Option<&str>,
    said_at: i64,
) -> Result<Option<String>, sqlx::Error> {
    // The write comes first (see `store_installation`): on SQLite it takes the lock at once.
    let changed: Option<String> = sqlx::query_scalar(
        "UPDATE native_resources SET vendor_status = $1, notification = $2, said_at = $3, updated_at = $4 \
         WHERE configuration_id = $5 AND vendor_id = $6 AND deleted_at IS NULL \
           AND (said_at IS NULL OR said_at <= $3) \
         RETURNING id",
    )
    .bind(status)
    .bind(notification)
    .bind(said_at)
    .bind(super::now_ms())
    .bind(installation.as_str())
    .bind(vendor_id)
    .fetch_optional(&mut *conn)
    .await?;
    match changed {
        Some(id) => Ok(Some(id)),
        None => live_id(conn, installation, vendor_id).await,
    }
}

/// Tether's id of the vendor's resource while it is live in the installation.
pub async fn live_id(
    conn: &mut Conn,
    installation: &ConfigurationId,
    vendor_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM native_resources WHERE configuration_id = $1 AND vendor_id = $2 AND deleted_at IS NULL",
    )
    .bind(installation.as_str())
    .bind(vendor_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Keeps the installation's notification (`None` clears it), unless a later call said otherwise.
pub async fn say_installation(
    conn: &mut Conn,
    installation: &ConfigurationId,
    notification: Option<&str>,
    said_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE native_installations SET notification = $1, said_at = $2, updated_at = $3 \
         WHERE configuration_id = $4 AND (said_at IS NULL OR said_at <= $2)",
    )
    .bind(notification)
    .bind(said_at)
    .bind(super::now_ms())
    .bind(installation.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes a resource the vendor brought in, with what it said of it. A unique index refuses a
/// vendor resource already live in the installation, or a name taken there.
pub async fn import(
    conn: &mut Conn,
    installation: &ConfigurationId,
    row: &NativeResourceRow,
    status: &str,
    notification: Option<&str>,
    said_at: i64,
) -> Result<(), sqlx::Error> {
    insert_resource(&mut *conn, row).await?;
    let vendor_id = row.vendor_id.as_deref().unwrap_or_default();
    say_resource(conn, installation, vendor_id, status, notification, said_at).await?;
    Ok(())
}
