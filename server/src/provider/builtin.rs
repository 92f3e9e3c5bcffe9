//! The built-in provider: resources, URLs and API keys kept in Tether's own database, for a
//! vendor trying Tether out and for sandbox mode.

use std::sync::Arc;

use rand::{distributions::Alphanumeric, Rng};

use super::{EnvValue, NewResource, Notice, Provider, ProviderError, ProviderFuture, Resource};
use crate::{
    seal::Sealer,
    settings::{EnvTemplate, ProviderSettings},
    store::{
        resources::{api_key_binding, pending_key_binding, ResourceRow},
        Store,
    },
};

pub struct BuiltinProvider {
    store: Store,
    sealer: Sealer,
    settings: ProviderSettings,
}

fn random_lower(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(|b| (b as char).to_ascii_lowercase()).collect()
}

fn new_api_key() -> String {
    format!("sk_{}", random_lower(40))
}

fn fill(template: &EnvTemplate, row: &ResourceRow, api_key: &str) -> String {
    template
        .value
        .replace("{url}", &row.url)
        .replace("{name}", &row.name)
        .replace("{region}", &row.region)
        .replace("{api_key}", api_key)
}

impl BuiltinProvider {
    pub fn new(store: Store, sealer: Sealer, settings: ProviderSettings) -> Arc<Self> {
        Arc::new(Self { store, sealer, settings })
    }

    async fn insert(&self, owner: &str, name: String) -> Result<Resource, ProviderError> {
        let id = format!("res_{}", random_lower(14));
        let api_key = new_api_key();
        let row = ResourceRow {
            url: self.settings.resource_url.replace("{id}", &id),
            sealed_api_key: self.sealer.seal(api_key.as_bytes(), &api_key_binding(&id)),
            region: self.settings.region.clone(),
            owner_id: owner.to_owned(),
            sealed_pending_key: None,
            name,
            id,
        };
        self.store.insert_resource(&row).await?;
        Ok(to_resource(row))
    }

    /// Sandbox mode: each simulator account starts with two resources, so "connect existing"
    /// can be tried at once.
    pub async fn seed_demo(&self, owners: &[&str]) -> Result<(), ProviderError> {
        for owner in owners {
            if self.resources(owner).await?.is_empty() {
                self.insert(owner, "shared-db".into()).await?;
                self.insert(owner, "analytics-db".into()).await?;
            }
        }
        Ok(())
    }
}

fn to_resource(row: ResourceRow) -> Resource {
    Resource {
        rotating: row.sealed_pending_key.is_some(),
        id: row.id,
        name: row.name,
        region: row.region,
        url: row.url,
    }
}

impl BuiltinProvider {
    async fn owned_row(&self, owner: &str, resource_id: &str) -> Result<ResourceRow, ProviderError> {
        self.store
            .resource(resource_id)
            .await?
            .filter(|r| r.owner_id == owner)
            .ok_or_else(|| ProviderError::UnknownResource(resource_id.to_owned()))
    }

    /// The key projects should hold now: a rotation's new one while it runs, else the current.
    fn key_for_projects(&self, row: &ResourceRow) -> Result<String, ProviderError> {
        match &row.sealed_pending_key {
            Some(pending) => Ok(self.sealer.open_string(pending, &pending_key_binding(&row.id))?),
            None => Ok(self.sealer.open_string(&row.sealed_api_key, &api_key_binding(&row.id))?),
        }
    }

    fn env_values(&self, row: &ResourceRow, api_key: &str) -> Vec<EnvValue> {
        self.settings
            .env
            .iter()
            .map(|t| EnvValue {
                key: t.key.clone(),
                value: fill(t, row, api_key),
                secret: t.secret,
                targets: t.targets.clone(),
                comment: t.comment_or_default(&self.settings.name),
            })
            .collect()
    }
}

impl Provider for BuiltinProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn resources<'a>(&'a self, owner: &'a str) -> ProviderFuture<'a, Vec<Resource>> {
        Box::pin(async move {
            let rows = self.store.resources_of(owner).await?;
            Ok(rows.into_iter().map(to_resource).collect())
        })
    }

    fn create<'a>(
        &'a self,
        owner: &'a str,
        purpose: NewResource<'a>,
        _idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Resource> {
        // Tether itself reuses the resource an earlier attempt recorded for the project, or for
        // the same Idempotency-Key of a native provision.
        let name = match purpose {
            NewResource::Project(project) => format!("{}-db", project.name),
            NewResource::Native(request) => request.name.to_owned(),
        };
        Box::pin(async move { self.insert(owner, name).await })
    }

    fn env_for<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>> {
        Box::pin(async move {
            let row = self.owned_row(owner, resource_id).await?;
            let api_key = self.key_for_projects(&row)?;
            Ok(self.env_values(&row, &api_key))
        })
    }

    fn begin_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>> {
        Box::pin(async move {
            let mut row = self.owned_row(owner, resource_id).await?;
            if row.sealed_pending_key.is_none() {
                let sealed = self.sealer.seal(new_api_key().as_bytes(), &pending_key_binding(&row.id));
                self.store.set_pending_key(&row.id, &sealed).await?;
                row.sealed_pending_key = Some(sealed);
            }
            let api_key = self.key_for_projects(&row)?;
            Ok(self.env_values(&row, &api_key))
        })
    }

    fn finish_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let row = self.owned_row(owner, resource_id).await?;
            if row.sealed_pending_key.is_none() {
                return Ok(());
            }
            let new_key = self.key_for_projects(&row)?;
            let sealed = self.sealer.seal(new_key.as_bytes(), &api_key_binding(&row.id));
            Ok(self.store.promote_pending_key(&row.id, &sealed).await?)
        })
    }

    fn release<'a>(
        &'a self,
        owner: &'a str,
        resource_id: &'a str,
        _installation_id: &'a str,
    ) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            match self.owned_row(owner, resource_id).await {
                Ok(row) => Ok(self.store.delete_resource(&row.id).await?),
                // Released already: releasing is idempotent.
                Err(ProviderError::UnknownResource(_)) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    fn notify<'a>(&'a self, _notice: &'a Notice) -> ProviderFuture<'a, ()> {
        // Tether is the vendor here: what a notice says is already in its own tables.
        Box::pin(async { Ok(()) })
    }
}
