//! Provisioning: for each chosen project, create or find the resource, write its env vars with
//! one batched upsert, and record what Vercel created. Safe to repeat: a linked project is left
//! alone, and a retry reuses the resource an earlier attempt chose.

use std::collections::HashMap;

use app::{
    model::{LinkReport, ProjectOutcome, CHOICE_EXISTING_PREFIX, CHOICE_NEW, CHOICE_SKIP},
    AppError,
};
use futures::{stream, StreamExt};

use super::{internal, vercel_error, Owned};
use crate::{
    params::ProjectId,
    state::AppState,
    store::links::{CreatedEnvVar, LinkProgress, FAILED, LINKED, PROVISIONING},
    vercel::env::EnvVarInput,
};

/// Projects provisioned at once: enough to overlap latency, few enough for Vercel's env rate limit.
const CONCURRENCY: usize = 4;

enum Choice {
    New,
    Existing(String),
}

fn parse_choices(raw: HashMap<String, String>) -> Result<Vec<(ProjectId, Choice)>, AppError> {
    let mut picks = Vec::new();
    for (project, choice) in raw {
        let project = ProjectId::parse(&project).map_err(|_| AppError::BadRequest("Unknown project.".into()))?;
        let choice = match choice.as_str() {
            CHOICE_SKIP => continue,
            CHOICE_NEW => Choice::New,
            other => match other.strip_prefix(CHOICE_EXISTING_PREFIX) {
                Some(id) if id.starts_with("res_") && id.len() <= 64 => Choice::Existing(id.to_owned()),
                _ => return Err(AppError::BadRequest("Unknown choice.".into())),
            },
        };
        picks.push((project, choice));
    }
    picks.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(picks)
}

impl AppState {
    pub(crate) async fn provision(
        &self,
        owned: &Owned,
        choices: HashMap<String, String>,
    ) -> Result<LinkReport, AppError> {
        let picks = parse_choices(choices)?;
        let outcomes = stream::iter(picks)
            .map(|(project, choice)| self.link_one(owned, project, choice))
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        Ok(LinkReport { outcomes })
    }

    async fn link_one(&self, owned: &Owned, project_id: ProjectId, choice: Choice) -> ProjectOutcome {
        let id = project_id.as_str().to_owned();
        match self.try_link_one(owned, &project_id, choice).await {
            Ok(message) => ProjectOutcome { project_id: id, ok: true, message },
            Err(error) => {
                let message = error.to_string();
                let progress = LinkProgress {
                    project_id: &id,
                    // Only used when the row is new; an existing row keeps its project's name.
                    project_name: &id,
                    resource_id: None,
                    external_id: None,
                    status: FAILED,
                    error: Some(&message),
                };
                let recorded = self.store.set_link(owned.configuration_id.as_str(), progress).await;
                if let Err(store_error) = recorded {
                    tracing::error!(%store_error, "cannot record a failed link");
                }
                ProjectOutcome { project_id: id, ok: false, message }
            }
        }
    }

    async fn try_link_one(&self, owned: &Owned, project_id: &ProjectId, choice: Choice) -> Result<String, AppError> {
        let configuration_id = owned.configuration_id.as_str();
        let owner = owned.installation.owner_id();
        let existing = self.store.link(configuration_id, project_id.as_str()).await.map_err(internal)?;
        if let Some(link) = existing.as_ref().filter(|l| l.status == LINKED) {
            return Ok(format!("Already connected ({})", link.resource_id.as_deref().unwrap_or("resource")));
        }
        // Also proves this installation may see the project.
        let project = owned.vercel.project(project_id.as_str()).await.map_err(vercel_error)?;
        let resources = self.provider.resources(owner).await.map_err(internal)?;
        let resource = match choice {
            Choice::Existing(id) => resources
                .into_iter()
                .find(|r| r.id == id)
                .ok_or_else(|| AppError::BadRequest("That resource does not exist for this account.".into()))?,
            Choice::New => {
                let earlier =
                    existing.and_then(|l| l.resource_id).and_then(|id| resources.into_iter().find(|r| r.id == id));
                match earlier {
                    Some(resource) => resource,
                    None => self.provider.create(owner, &project.name).await.map_err(internal)?,
                }
            }
        };
        let external_id = (owned.session.current_project_id.as_deref() == Some(project_id.as_str()))
            .then_some(owned.session.external_id.as_deref())
            .flatten();
        let progress = LinkProgress {
            project_id: &project.id,
            project_name: &project.name,
            resource_id: Some(&resource.id),
            external_id,
            status: PROVISIONING,
            error: None,
        };
        self.store.set_link(configuration_id, progress).await.map_err(internal)?;
        let vars = self.env_inputs(owner, &resource.id).await?;
        let written = self.write_env(owned, &project.id, &vars).await?;
        tracing::info!(configuration_id, project_id = %project.id, resource_id = %resource.id, vars = written, "project linked");
        Ok(format!("Connected to {}", resource.name))
    }

    /// The env vars a resource gives a project, in Vercel's types and targets.
    pub(crate) async fn env_inputs(&self, owner: &str, resource_id: &str) -> Result<Vec<EnvVarInput>, AppError> {
        let values = self.provider.env_for(owner, resource_id).await.map_err(internal)?;
        Ok(values.iter().flat_map(|v| EnvVarInput::for_value(&v.key, &v.value, v.secret, &v.targets)).collect())
    }

    /// One batched upsert into a project. What Vercel created is recorded even when some keys
    /// were refused (unlinking needs those ids); refused keys are then reported by name.
    pub(crate) async fn write_env(
        &self,
        owned: &Owned,
        project_id: &str,
        vars: &[EnvVarInput],
    ) -> Result<usize, AppError> {
        let outcome =
            owned.vercel.upsert_env(owned.configuration_id.as_str(), project_id, vars).await.map_err(vercel_error)?;
        let created: Vec<CreatedEnvVar> = outcome.created.into_iter().map(CreatedEnvVar::from).collect();
        self.store.complete_link(owned.configuration_id.as_str(), project_id, &created).await.map_err(internal)?;
        if !outcome.failed.is_empty() {
            let keys: Vec<String> =
                outcome.failed.iter().map(|f| format!("{} ({})", f.key.as_deref().unwrap_or("?"), f.message)).collect();
            return Err(AppError::Vercel(format!("Vercel refused {}", keys.join("; "))));
        }
        Ok(created.len())
    }
}
