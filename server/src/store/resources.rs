//! The built-in provider's resources: what a vendor's own system would hold.

use sqlx::FromRow;

use super::{now_ms, Store, StoreError};

/// The associated data a resource's API key is sealed with: it only opens in its own row.
pub fn api_key_binding(resource_id: &str) -> String {
    format!("resource-api-key:{resource_id}")
}

/// The same for a key issued by a rotation that is not finished: it cannot pass for the current one.
pub fn pending_key_binding(resource_id: &str) -> String {
    format!("resource-pending-api-key:{resource_id}")
}

#[derive(Debug, Clone, FromRow)]
pub struct ResourceRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub region: String,
    pub url: String,
    pub sealed_api_key: Vec<u8>,
    /// A rotation's new key, until every linked project has it.
    pub sealed_pending_key: Option<Vec<u8>>,
}

impl Store {
    pub async fn resources_of(&self, owner_id: &str) -> Result<Vec<ResourceRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, owner_id, name, region, url, sealed_api_key, sealed_pending_key FROM resources \
             WHERE owner_id = $1 ORDER BY created_at, id",
        )
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn resource(&self, id: &str) -> Result<Option<ResourceRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, owner_id, name, region, url, sealed_api_key, sealed_pending_key FROM resources WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Starts a rotation: the new key waits beside the old one.
    pub async fn set_pending_key(&self, id: &str, sealed: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE resources SET sealed_pending_key = $1 WHERE id = $2")
            .bind(sealed)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a rotation: the waiting key replaces the old one, which stops existing.
    pub async fn promote_pending_key(&self, id: &str, sealed_current: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE resources SET sealed_api_key = $1, sealed_pending_key = NULL \
             WHERE id = $2 AND sealed_pending_key IS NOT NULL",
        )
        .bind(sealed_current)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn insert_resource(&self, row: &ResourceRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resources (id, owner_id, name, region, url, sealed_api_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.owner_id)
        .bind(&row.name)
        .bind(&row.region)
        .bind(&row.url)
        .bind(&row.sealed_api_key)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The built-in provider's release. Links that named it keep their history without it.
    pub async fn delete_resource(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE links SET resource_id = NULL WHERE resource_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM resources WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
