//! Native installations and the resources Vercel provisions through them (migration 0012).

use sqlx::FromRow;

use super::{
    installations::{tombstoned, InstallationStatus},
    now_ms, Conn, Store, StoreError,
};
use crate::params::{ConfigurationId, Source};

/// How Vercel made an installation: through the popup (`connectable`, a token exchanged from a
/// code) or through the Partner API (`native`, a token Vercel handed over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallationKind {
    Connectable,
    Native,
}

text_enum!(InstallationKind { Connectable => "connectable", Native => "native" });

pub async fn is_native(conn: &mut Conn, configuration_id: &ConfigurationId) -> Result<bool, sqlx::Error> {
    let kind: Option<InstallationKind> =
        sqlx::query_scalar("SELECT kind FROM installations WHERE configuration_id = $1")
            .bind(configuration_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(kind == Some(InstallationKind::Native))
}

/// What Vercel's `PUT /v1/installations/{id}` said, ready to keep. The JSON values are kept as
/// Vercel sent them.
pub struct NewNativeInstallation<'a> {
    pub configuration_id: &'a ConfigurationId,
    /// The Vercel team (the token's `account_id`): whose resources the vendor sees.
    pub team_id: Option<&'a str>,
    /// Who installed, or `system` for Vercel's own call.
    pub user_id: &'a str,
    pub sealed_token: &'a [u8],
    pub account: &'a str,
    pub scopes: &'a str,
    pub accepted_policies: &'a str,
}

/// What became of a `PUT`.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    /// Kept: first time, or the newer token and details of the same installation.
    Stored { created: bool },
    /// Vercel removed it before: removal is final, a reinstall has a new id.
    Removed,
    /// The id is a popup installation's: the two kinds never share a row.
    OtherKind,
}

/// A native installation as the Partner API reads it.
#[derive(Debug, Clone, FromRow)]
pub struct NativeInstallationRow {
    pub configuration_id: String,
    pub status: InstallationStatus,
    pub team_id: Option<String>,
    pub user_id: String,
    pub vendor_account: Option<String>,
    pub account: String,
    pub scopes: String,
    pub accepted_policies: String,
    /// The vendor's notification for the installation, as Vercel's JSON.
    pub notification: Option<String>,
}

impl NativeInstallationRow {
    /// The vendor account it acts for, as for the popup's installations.
    pub fn owner_id(&self) -> &str {
        self.vendor_account.as_deref().or(self.team_id.as_deref()).unwrap_or(&self.user_id)
    }
}

/// Where a provisioned resource stands at Tether.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeResourceStatus {
    /// Recorded, and the vendor asked (or about to be): a retry resumes it.
    Provisioning,
    Ready,
    Deleted,
}

text_enum!(NativeResourceStatus { Provisioning => "provisioning", Ready => "ready", Deleted => "deleted" });

#[derive(Debug, Clone, FromRow)]
pub struct NativeResourceRow {
    pub id: String,
    pub configuration_id: String,
    pub vendor_id: Option<String>,
    pub product_id: String,
    pub name: String,
    pub metadata: String,
    pub billing_plan_id: String,
    pub external_id: Option<String>,
    pub status: NativeResourceStatus,
    pub idempotency_key: Option<String>,
    pub request_digest: String,
    pub origin: NativeOrigin,
    /// What the vendor last said of it (`suspended`, …); `None` until it says anything.
    pub vendor_status: Option<String>,
    /// The vendor's notification for it, as Vercel's JSON.
    pub notification: Option<String>,
}

/// Where a native resource came from: Vercel's create form, or the vendor brought in one the
/// customer already had. Tether releases only what it created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeOrigin {
    Created,
    Imported,
}

text_enum!(NativeOrigin { Created => "created", Imported => "imported" });

/// The columns a new row is written with; the vendor's status and notification come later.
const NEW_COLUMNS: &str = "id, configuration_id, vendor_id, product_id, name, metadata, billing_plan_id, \
     external_id, status, idempotency_key, request_digest, origin";

pub(super) const RESOURCE_COLUMNS: &str =
    "id, configuration_id, vendor_id, product_id, name, metadata, billing_plan_id, \
     external_id, status, idempotency_key, request_digest, origin, vendor_status, notification";

/// What became of recording a provision before the vendor is asked.
#[derive(Debug)]
pub enum Recorded {
    /// A new row: ask the vendor.
    New,
    /// The Idempotency-Key was seen before: this is that request's row.
    Seen(Box<NativeResourceRow>),
    /// Another live resource of the installation has the name.
    NameTaken,
}

/// A change a `PATCH` asks for; `None` keeps the value.
#[derive(Default)]
pub struct ResourceChange<'a> {
    pub name: Option<&'a str>,
    pub metadata: Option<&'a str>,
    pub billing_plan_id: Option<&'a str>,
}

impl Store {
    /// Keeps a native installation, or the newer token and details of one kept before, in one
    /// transaction with its details.
    pub async fn upsert_native_installation(&self, new: NewNativeInstallation<'_>) -> Result<Upserted, StoreError> {
        let now = now_ms();
        let id = new.configuration_id;
        let mut tx = self.pool.begin().await?;
        // Write first (see `store_installation`); the update touches only a live native row.
        let written = sqlx::query(
            "INSERT INTO installations \
               (configuration_id, team_id, user_id, source, sealed_token, status, kind, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (configuration_id) DO UPDATE SET \
               sealed_token = excluded.sealed_token, updated_at = excluded.updated_at \
             WHERE installations.kind = $7 AND installations.status = $6",
        )
        .bind(id.as_str())
        .bind(new.team_id)
        .bind(new.user_id)
        .bind(Source::Marketplace)
        .bind(new.sealed_token)
        .bind(InstallationStatus::Active)
        .bind(InstallationKind::Native)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if tombstoned(&mut tx, id).await? {
            return Ok(Upserted::Removed);
        }
        if written == 0 || !is_native(&mut tx, id).await? {
            return Ok(Upserted::OtherKind);
        }
        sqlx::query(
            "INSERT INTO native_installations (configuration_id, account, scopes, accepted_policies, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (configuration_id) DO UPDATE SET \
               account = excluded.account, scopes = excluded.scopes, \
               accepted_policies = excluded.accepted_policies, updated_at = excluded.updated_at",
        )
        .bind(id.as_str())
        .bind(new.account)
        .bind(new.scopes)
        .bind(new.accepted_policies)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // An update leaves `created_at` as it was.
        let created_at: i64 = sqlx::query_scalar("SELECT created_at FROM installations WHERE configuration_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let created = created_at == now;
        if created {
            // Vercel's account answer, not the installer, tells the vendor whom it serves: read
            // it with the new token, then tell the vendor (see `native::vercel_jobs`).
            let owner = new.team_id.unwrap_or(new.user_id);
            let body = serde_json::json!({ "installation_id": id.as_str() }).to_string();
            let job = format!("acct_{}", id.as_str());
            super::provider_jobs::enqueue(&mut tx, &job, super::provider_jobs::JobKind::ReadAccount, owner, &body)
                .await?;
        }
        tx.commit().await?;
        Ok(Upserted::Stored { created })
    }

    /// A native installation, live or removed; `None` for an unknown id or a popup's.
    pub async fn native_installation(
        &self,
        configuration_id: &ConfigurationId,
    ) -> Result<Option<NativeInstallationRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT i.configuration_id, i.status, i.team_id, i.user_id, i.vendor_account, \
               n.account, n.scopes, n.accepted_policies, n.notification \
             FROM installations i JOIN native_installations n ON n.configuration_id = i.configuration_id \
             WHERE i.configuration_id = $1",
        )
        .bind(configuration_id.as_str())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records a provision before the vendor is asked. A key seen before answers that request's
    /// row; a name taken by a live resource, nothing.
    pub async fn record_provision(&self, row: &NativeResourceRow) -> Result<Recorded, StoreError> {
        let installation = &row.configuration_id;
        if let Some(key) = &row.idempotency_key {
            if let Some(seen) = self.native_resource_by_key(installation, key).await? {
                return Ok(Recorded::Seen(Box::new(seen)));
            }
        }
        let inserted = insert_resource(&self.pool, row).await;
        match inserted {
            Ok(_) => Ok(Recorded::New),
            // A unique index refused it: the same key sent at once (that request's row), or the name.
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => match row.idempotency_key.as_deref() {
                Some(key) => Ok(self
                    .native_resource_by_key(installation, key)
                    .await?
                    .map_or(Recorded::NameTaken, |seen| Recorded::Seen(Box::new(seen)))),
                None => Ok(Recorded::NameTaken),
            },
            Err(error) => Err(error.into()),
        }
    }

    async fn native_resource_by_key(
        &self,
        configuration_id: &str,
        key: &str,
    ) -> Result<Option<NativeResourceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM native_resources WHERE configuration_id = $1 AND idempotency_key = $2"
        ))
        .bind(configuration_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The vendor created the resource: it is ready.
    pub async fn provisioned(&self, id: &str, vendor_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE native_resources SET vendor_id = $1, status = $2, updated_at = $3 WHERE id = $4")
            .bind(vendor_id)
            .bind(NativeResourceStatus::Ready)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The vendor refused to create it: nothing exists, and the key is free to be judged afresh.
    pub async fn forget_provision(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM native_resources WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(NativeResourceStatus::Provisioning)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A live (not deleted) resource of the installation.
    pub async fn native_resource(
        &self,
        configuration_id: &ConfigurationId,
        id: &str,
    ) -> Result<Option<NativeResourceRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM native_resources \
             WHERE configuration_id = $1 AND id = $2 AND deleted_at IS NULL"
        ))
        .bind(configuration_id.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Applies a `PATCH`. False when another live resource of the installation has the name.
    pub async fn change_native_resource(&self, id: &str, change: ResourceChange<'_>) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE native_resources SET name = COALESCE($1, name), metadata = COALESCE($2, metadata), \
               billing_plan_id = COALESCE($3, billing_plan_id), updated_at = $4 \
             WHERE id = $5 AND deleted_at IS NULL",
        )
        .bind(change.name)
        .bind(change.metadata)
        .bind(change.billing_plan_id)
        .bind(now_ms())
        .bind(id)
        .execute(&self.pool)
        .await;
        match updated {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

/// Writes a new resource row (see [`NEW_COLUMNS`]).
pub(super) async fn insert_resource<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    row: &NativeResourceRow,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(&format!(
        "INSERT INTO native_resources ({NEW_COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&row.id)
    .bind(&row.configuration_id)
    .bind(&row.vendor_id)
    .bind(&row.product_id)
    .bind(&row.name)
    .bind(&row.metadata)
    .bind(&row.billing_plan_id)
    .bind(&row.external_id)
    .bind(row.status)
    .bind(&row.idempotency_key)
    .bind(&row.request_digest)
    .bind(row.origin)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a resource deleted; returns it as it was, or `None` when it was not live.
pub async fn delete_native_resource(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    id: &str,
) -> Result<Option<NativeResourceRow>, sqlx::Error> {
    let now = now_ms();
    let deleted = sqlx::query(
        "UPDATE native_resources SET status = $1, deleted_at = $2, updated_at = $2 \
         WHERE configuration_id = $3 AND id = $4 AND deleted_at IS NULL",
    )
    .bind(NativeResourceStatus::Deleted)
    .bind(now)
    .bind(configuration_id.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Ok(None);
    }
    sqlx::query_as(&format!("SELECT {RESOURCE_COLUMNS} FROM native_resources WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// The installation's sealed Vercel token, while it is a live native installation.
pub async fn native_token(conn: &mut Conn, configuration_id: &ConfigurationId) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT sealed_token FROM installations WHERE configuration_id = $1 AND kind = $2 AND status = $3",
    )
    .bind(configuration_id.as_str())
    .bind(InstallationKind::Native)
    .bind(InstallationStatus::Active)
    .fetch_optional(&mut *conn)
    .await
}

/// What Vercel answered for the installation's account, kept as it answered it.
pub async fn set_native_account(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    account: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE native_installations SET account = $1, updated_at = $2 WHERE configuration_id = $3")
        .bind(account)
        .bind(now_ms())
        .bind(configuration_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every live resource of the installation (to delete with it).
pub async fn live_native_resources(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM native_resources WHERE configuration_id = $1 AND deleted_at IS NULL ORDER BY id")
        .bind(configuration_id.as_str())
        .fetch_all(&mut *conn)
        .await
}

/// The vendor's id of a native resource (deleted ones too: an event may come after).
pub async fn vendor_id(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let found: Option<Option<String>> =
        sqlx::query_scalar("SELECT vendor_id FROM native_resources WHERE configuration_id = $1 AND id = $2")
            .bind(configuration_id.as_str())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.flatten())
}
