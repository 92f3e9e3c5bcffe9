//! Provisioning: for each chosen project, create or find the resource, write its env vars with
//! one batched upsert, and record what Vercel created. Safe to repeat: a linked project is left
//! alone, and a retry reuses the resource an earlier attempt chose.

use std::collections::HashMap;

use app::{
    model::{LinkReport, ProjectOutcome, CHOICE_EXISTING_PREFIX, CHOICE_NEW, CHOICE_SKIP, CLASH_KEEP, CLASH_REPLACE},
    AppError,
};
use futures::{stream, StreamExt};

use super::Authorized;
use crate::{
    limits::CONCURRENCY,
    params::ProjectId,
    provider::{NewResource, ProjectRef},
    store::links::{EnvRecord, LinkProgress, LinkStatus, Origin, CLASH_KEY_SEPARATOR},
    vercel::env::{EnvVarInput, VercelEnv, WrittenEnv},
    web::failure::say,
};

/// What the store keeps of a variable Vercel wrote: here, where the two meet, so the store
/// need not know Vercel's types.
fn record_of(written: WrittenEnv) -> EnvRecord {
    EnvRecord {
        vercel_env_id: written.id,
        key: written.key,
        kind: written.kind.as_str(),
        targets: written.target.join(","),
    }
}

/// Provider values as Vercel env var inputs.
pub(super) fn inputs_of(values: &[crate::provider::EnvValue]) -> Vec<EnvVarInput> {
    values.iter().flat_map(|v| EnvVarInput::for_value(&v.key, &v.value, v.secret, &v.targets, &v.comment)).collect()
}

/// What to write after clashes were settled, and which keys were kept as the user had them.
struct Settled {
    write: Vec<EnvVarInput>,
    kept: Vec<String>,
}

enum Choice {
    New,
    Existing(String),
}

/// The user's answer to variables of the same name that Tether did not make.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnClash {
    /// Not asked yet: write nothing and ask.
    Ask,
    Keep,
    Replace,
}

fn parse_clashes(raw: HashMap<String, String>) -> Result<HashMap<String, OnClash>, AppError> {
    raw.into_iter()
        .map(|(project, answer)| {
            let project = super::known_project(&project)?;
            let answer = match answer.as_str() {
                CLASH_KEEP => OnClash::Keep,
                CLASH_REPLACE => OnClash::Replace,
                _ => return Err(AppError::BadRequest(say::UNKNOWN_CLASH_ANSWER.into())),
            };
            Ok((project.as_str().to_owned(), answer))
        })
        .collect()
}

fn parse_choices(raw: HashMap<String, String>) -> Result<Vec<(ProjectId, Choice)>, AppError> {
    let mut picks = Vec::new();
    for (project, choice) in raw {
        let project = super::known_project(&project)?;
        let choice = match choice.as_str() {
            CHOICE_SKIP => continue,
            CHOICE_NEW => Choice::New,
            other => match other.strip_prefix(CHOICE_EXISTING_PREFIX) {
                Some(id) if crate::provider::valid_resource_id(id) => Choice::Existing(id.to_owned()),
                _ => return Err(AppError::BadRequest(say::UNKNOWN_CHOICE.into())),
            },
        };
        picks.push((project, choice));
    }
    picks.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok(picks)
}

impl Authorized<'_> {
    pub async fn provision(
        &self,
        choices: HashMap<String, String>,
        clashes: HashMap<String, String>,
    ) -> Result<LinkReport, AppError> {
        if self.needs_vendor_account() {
            let vendor = self.app.provider.name();
            return Err(AppError::BadRequest(say::sign_in_first(vendor)));
        }
        let picks = parse_choices(choices)?;
        let clashes = parse_clashes(clashes)?;
        self.within_access(&picks).await?;
        let gate = self.app.provisioning.gate(self.id());
        let outcomes = stream::iter(picks)
            .map(|(project, choice)| {
                let on_clash = clashes.get(project.as_str()).copied().unwrap_or(OnClash::Ask);
                let gate = &gate;
                async move {
                    // Never closed, so a permit always comes.
                    let _permit = gate.acquire().await.ok();
                    self.link_one(project, choice, on_clash).await
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        Ok(LinkReport { outcomes })
    }

    /// A project the user did not give the installation at Vercel is refused here, in words
    /// that say why: Vercel's own 403 would read like a missing scope.
    async fn within_access(&self, picks: &[(ProjectId, Choice)]) -> Result<(), AppError> {
        let access = self.project_access().await?;
        let outside: Vec<&str> =
            picks.iter().map(|(project, _)| project.as_str()).filter(|id| !access.allows(id)).collect();
        if outside.is_empty() {
            return Ok(());
        }
        Err(AppError::BadRequest(format!(
            "This installation was not given {} at Vercel. Add it to the installation's project access in \
             Vercel's dashboard, then refresh the list.",
            outside.join(", ")
        )))
    }

    async fn link_one(&self, project_id: ProjectId, choice: Choice, on_clash: OnClash) -> ProjectOutcome {
        let id = project_id.as_str().to_owned();
        match self.try_link_one(&project_id, choice, on_clash).await {
            Ok(message) => {
                crate::telemetry::project_link("linked");
                ProjectOutcome { project_id: id, ok: true, message, clash: false }
            }
            Err(error) => {
                self.app.note_error(self.id().as_str(), &error).await;
                crate::telemetry::project_link(if matches!(error, AppError::Clash(_)) { "clash" } else { "failed" });
                let message = error.to_string();
                // A clash keeps its keys, so the page can ask about exactly them.
                let (status, detail, clash) = match &error {
                    AppError::Clash(keys) => (LinkStatus::Clash, keys.clone(), true),
                    _ => (LinkStatus::Failed, message.clone(), false),
                };
                let progress = LinkProgress {
                    project_id: &id,
                    // Only used when the row is new; an existing row keeps its project's name.
                    project_name: &id,
                    resource_id: None,
                    origin: None,
                    external_id: None,
                    status,
                    error: Some(&detail),
                };
                let recorded = self.app.store.set_link(self.id(), progress).await;
                if let Err(store_error) = recorded {
                    tracing::error!(%store_error, "cannot record a failed link");
                }
                ProjectOutcome { project_id: id, ok: false, message, clash }
            }
        }
    }

    async fn try_link_one(
        &self,
        project_id: &ProjectId,
        choice: Choice,
        on_clash: OnClash,
    ) -> Result<String, AppError> {
        let configuration_id = self.id();
        let owner = self.owner();
        // Three independent reads at once: each project's round trips add up over a popup's
        // hundred projects. Fetching the project also proves this installation may see it.
        let (existing, project, resources) = tokio::try_join!(
            async { Ok::<_, AppError>(self.app.store.link(configuration_id, project_id.as_str()).await?) },
            async { Ok(self.vercel.project(project_id.as_str()).await?) },
            async { Ok(self.app.provider.resources(owner).await?) },
        )?;
        if let Some(link) = existing.as_ref().filter(|l| l.status == LinkStatus::Linked) {
            return Ok(say::already_connected(link.resource_id.as_deref().unwrap_or("resource")));
        }
        let (resource, origin) = match choice {
            Choice::Existing(id) => {
                let resource = resources
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| AppError::BadRequest(say::UNKNOWN_RESOURCE.into()))?;
                // Connecting one Tether created for another of this installation's projects
                // keeps its origin: it is still Tether's to release one day.
                let created = self.app.store.created_here(configuration_id, &resource.id).await?;
                (resource, if created { Origin::Created } else { Origin::Connected })
            }
            Choice::New => {
                // A retry reuses the resource an earlier attempt created, never one the user
                // connected before changing their mind: that one is not Tether's to release.
                let earlier = existing
                    .filter(|l| l.origin == Some(Origin::Created))
                    .and_then(|l| l.resource_id)
                    .and_then(|id| resources.into_iter().find(|r| r.id == id));
                let resource = match earlier {
                    Some(resource) => resource,
                    None => {
                        let project =
                            ProjectRef { installation_id: self.id().as_str(), id: &project.id, name: &project.name };
                        self.app
                            .provider
                            .create(owner, NewResource::Project(project), &project.idempotency_key())
                            .await?
                    }
                };
                (resource, Origin::Created)
            }
        };
        let external_id = (self.session.current_project_id.as_deref() == Some(project_id.as_str()))
            .then_some(self.session.external_id.as_deref())
            .flatten();
        let progress = LinkProgress {
            project_id: &project.id,
            project_name: &project.name,
            resource_id: Some(&resource.id),
            origin: Some(origin),
            external_id,
            status: LinkStatus::Provisioning,
            error: None,
        };
        // The project's variables at Vercel are read while the link is recorded: the write
        // that follows still comes after both.
        let ((), vars, (_, others)) = tokio::try_join!(
            async { Ok::<_, AppError>(self.app.store.set_link(configuration_id, progress).await?) },
            async { Ok(inputs_of(&self.app.provider.env_for(owner, &resource.id).await?)) },
            self.variables_at_vercel(&project.id),
        )?;
        let vars = self.settle_clashes(&project.id, others, vars, on_clash).await?;
        let written = self.write_env(&project.id, &vars.write).await?;
        tracing::info!(%configuration_id, project_id = %project.id, resource_id = %resource.id, vars = written, "project linked");
        Ok(say::connected(&resource.name, &vars.kept))
    }

    /// Compares with the project's variables, read before writing: a key Tether would write
    /// that exists with an overlapping target and is not one Tether recorded (by Vercel's id)
    /// belongs to someone else. Unasked, nothing is written and the user is asked; kept, those
    /// keys are skipped; replaced, theirs are deleted by id and ours written.
    async fn settle_clashes(
        &self,
        project_id: &str,
        others: Vec<VercelEnv>,
        vars: Vec<EnvVarInput>,
        on_clash: OnClash,
    ) -> Result<Settled, AppError> {
        let theirs: Vec<_> = others
            .into_iter()
            .filter(|p| {
                vars.iter().any(|v| v.key == p.key && p.target.iter().any(|t| v.target.iter().any(|s| s.as_str() == t)))
            })
            .collect();
        let mut keys: Vec<String> = theirs.iter().map(|p| p.key.clone()).collect();
        keys.sort();
        keys.dedup();
        match on_clash {
            _ if keys.is_empty() => Ok(Settled { write: vars, kept: Vec::new() }),
            OnClash::Ask => Err(AppError::Clash(keys.join(CLASH_KEY_SEPARATOR))),
            OnClash::Keep => {
                let write = vars.into_iter().filter(|v| !keys.contains(&v.key)).collect();
                Ok(Settled { write, kept: keys })
            }
            OnClash::Replace => {
                for env_id in theirs.iter().filter_map(|p| p.id.as_deref()) {
                    self.vercel.delete_env(project_id, env_id).await?;
                }
                tracing::info!(project_id, keys = %keys.join(","), "replaced variables made outside Tether, as the user chose");
                Ok(Settled { write: vars, kept: Vec::new() })
            }
        }
    }

    /// A project's variables at Vercel, split by who made them. Tether's are proven by an id it
    /// recorded, or by Vercel's mark of this installation (a write a crash cut short before it
    /// was recorded); their ids include recorded ones Vercel no longer lists. The rest belong to
    /// someone else, whatever their key.
    pub(super) async fn variables_at_vercel(
        &self,
        project_id: &str,
    ) -> Result<(Vec<String>, Vec<VercelEnv>), AppError> {
        let configuration_id = self.id();
        let mut ours = self.app.store.env_var_ids(configuration_id, project_id).await?;
        let mut others = Vec::new();
        for var in self.vercel.list_env(project_id).await? {
            let recorded = var.id.as_ref().is_some_and(|id| ours.contains(id));
            let marked = var.configuration_id.as_deref() == Some(configuration_id.as_str());
            match var.id {
                Some(id) if marked && !recorded => ours.push(id),
                _ if recorded || marked => {}
                _ => others.push(var),
            }
        }
        Ok((ours, others))
    }

    /// Rewrites a linked project's variables (a rotation): keys someone else has since taken
    /// over are left to them, as Connect's "keep yours" would.
    pub(super) async fn rewrite_env(&self, project_id: &str, vars: &[EnvVarInput]) -> Result<usize, AppError> {
        let (_, others) = self.variables_at_vercel(project_id).await?;
        let settled = self.settle_clashes(project_id, others, vars.to_vec(), OnClash::Keep).await?;
        self.write_env(project_id, &settled.write).await
    }

    /// One batched upsert into a project. What Vercel created is recorded even when some keys
    /// were refused (unlinking needs those ids); refused keys are then reported by name.
    async fn write_env(&self, project_id: &str, vars: &[EnvVarInput]) -> Result<usize, AppError> {
        let outcome = self.vercel.upsert_env(self.id(), project_id, vars).await?;
        let created: Vec<EnvRecord> = outcome.created.into_iter().map(record_of).collect();
        self.app.store.complete_link(self.id(), project_id, &created).await?;
        if !outcome.failed.is_empty() {
            let keys: Vec<String> =
                outcome.failed.iter().map(|f| format!("{} ({})", f.key.as_deref().unwrap_or("?"), f.message)).collect();
            return Err(AppError::Vercel(say::vercel_refused(&keys)));
        }
        Ok(created.len())
    }
}
