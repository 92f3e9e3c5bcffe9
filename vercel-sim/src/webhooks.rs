//! Signed webhook delivery, as Vercel does it: one URL for the integration, the body signed with
//! HMAC-SHA1 under the client secret, non-2xx answers retried with backoff. Tests can replay a
//! delivery or send it with one bit flipped.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha1::Sha1;

use crate::state::{now_ms, random_id, Delivery, Sim};

/// Vercel retries for a day; the simulator compresses that into a few seconds.
const ATTEMPTS: u32 = 6;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Sim {
    /// Records an event and delivers it in the background; returns its id.
    pub fn emit(&self, kind: &str, payload: Value) -> String {
        let id = random_id("evt_", 20);
        let mut inner = self.lock();
        // Strictly increasing, as Vercel's events are: two in one millisecond keep their order.
        let created_at = now_ms().max(inner.last_event_at + 1);
        inner.last_event_at = created_at;
        let body = serde_json::to_vec(&json!({
            "id": id, "type": kind, "createdAt": created_at, "region": "sim1", "payload": payload
        }))
        .unwrap_or_default();
        inner.deliveries.push(Delivery { id: id.clone(), kind: kind.into(), body, statuses: Vec::new() });
        drop(inner);
        self.deliver(&id, false);
        id
    }

    /// Sends a recorded delivery again, exactly as before or with one bit of the body flipped
    /// (the signature stays the original's).
    pub fn deliver(&self, id: &str, tamper: bool) -> bool {
        let Some(url) = self.config.webhook_url.clone() else { return false };
        let Some(mut body) = self.lock().deliveries.iter().find(|d| d.id == id).map(|d| d.body.clone()) else {
            return false;
        };
        let signature = sign(&body, &self.config.client_secret);
        if tamper {
            let middle = body.len() / 2;
            body[middle] ^= 0x01;
        }
        let sim = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut backoff = FIRST_BACKOFF;
            for _ in 0..ATTEMPTS {
                let status = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-vercel-signature", &signature)
                    .body(body.clone())
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                if let Some(delivery) = sim.lock().deliveries.iter_mut().find(|d| d.id == id) {
                    delivery.statuses.push(status);
                }
                if (200..300).contains(&status) {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        });
        true
    }

    /// The dashboard's Uninstall: the installation and its env vars go, and Vercel tells the
    /// integration.
    pub fn uninstall(&self, configuration_id: &str) -> bool {
        let installation = {
            let mut inner = self.lock();
            let Some(installation) = inner.installations.iter_mut().find(|i| i.id == configuration_id) else {
                return false;
            };
            installation.status = "removed".into();
            let installation = installation.clone();
            for vars in inner.env.values_mut() {
                vars.retain(|v| v.configuration_id.as_deref() != Some(configuration_id));
            }
            installation
        };
        self.emit(
            "integration-configuration.removed",
            json!({
                "configuration": {
                    "id": installation.id,
                    "projectSelection": installation.project_selection,
                    "projects": installation.projects,
                },
                "team": installation.team_id.as_ref().map(|id| json!({"id": id})),
                "user": {"id": installation.user_id},
            }),
        );
        true
    }

    /// An owner moves the installation to another team: from now on its token acts there, and
    /// Vercel tells the integration (`integration-configuration.transferred`).
    pub fn transfer(&self, configuration_id: &str, new_team_id: &str) -> bool {
        let (installation, previous) = {
            let mut inner = self.lock();
            if !inner.accounts.iter().any(|a| a.id == new_team_id && a.is_team) {
                return false;
            }
            let Some(installation) = inner.installations.iter_mut().find(|i| i.id == configuration_id) else {
                return false;
            };
            let previous = installation.team_id.replace(new_team_id.to_owned());
            (installation.clone(), previous)
        };
        self.emit(
            "integration-configuration.transferred",
            json!({
                "configuration": {"id": installation.id, "projectSelection": "all"},
                "previousTeamId": previous,
                "newTeamId": new_team_id,
                "team": {"id": new_team_id},
                "user": {"id": installation.user_id},
            }),
        );
        true
    }

    /// A member leaves a team: the installations they made there are disabled (every call with
    /// their tokens answers 403 `integration_configuration_disabled`) until an owner transfers
    /// them. Vercel sends no event for this. Returns how many were disabled.
    pub fn leave_team(&self, team_id: &str, user_id: &str) -> usize {
        let mut inner = self.lock();
        let mine = |i: &&mut crate::Installation| {
            i.team_id.as_deref() == Some(team_id) && i.user_id == user_id && i.status == "active"
        };
        let mut disabled = 0;
        for installation in inner.installations.iter_mut().filter(mine) {
            installation.status = "disabled".into();
            disabled += 1;
        }
        disabled
    }

    /// An owner transfers an installation to another member of its team, which enables it again
    /// if it was disabled: `integration-configuration.transferred`, the team unchanged.
    pub fn transfer_to_member(&self, configuration_id: &str, user_id: &str) -> bool {
        let installation = {
            let mut inner = self.lock();
            let Some(installation) = inner
                .installations
                .iter_mut()
                .find(|i| i.id == configuration_id && i.team_id.is_some() && i.status != "removed")
            else {
                return false;
            };
            installation.user_id = user_id.to_owned();
            installation.status = "active".into();
            installation.clone()
        };
        self.emit(
            "integration-configuration.transferred",
            json!({
                "configuration": {"id": installation.id, "projectSelection": "all"},
                "previousTeamId": installation.team_id,
                "newTeamId": installation.team_id,
                "team": {"id": installation.team_id},
                "user": {"id": user_id},
            }),
        );
        true
    }

    /// The owner changes which projects the installation may see (`None`: all of them), in the
    /// installation's settings: `integration-configuration.permission-upgraded`, with the
    /// projects added and removed.
    pub fn set_project_access(&self, configuration_id: &str, projects: Option<&[&str]>) -> bool {
        let (installation, projects, added, removed) = {
            let mut inner = self.lock();
            let Some(index) = inner.installations.iter().position(|i| i.id == configuration_id) else {
                return false;
            };
            let installation = &inner.installations[index];
            let account = installation.team_id.clone().unwrap_or_else(|| installation.user_id.clone());
            let all: Vec<String> =
                inner.projects.iter().filter(|p| p.account_id == account).map(|p| p.id.clone()).collect();
            let before: Vec<String> = all.iter().filter(|p| installation.may_see(p)).cloned().collect();
            let installation = &mut inner.installations[index];
            match projects {
                None => {
                    installation.project_selection = "all".into();
                    installation.projects.clear();
                }
                Some(projects) => {
                    installation.project_selection = "selected".into();
                    installation.projects = projects.iter().map(|p| p.to_string()).collect();
                }
            }
            let installation = installation.clone();
            let after: Vec<String> = all.iter().filter(|p| installation.may_see(p)).cloned().collect();
            let added: Vec<String> = after.iter().filter(|p| !before.contains(p)).cloned().collect();
            let removed: Vec<String> = before.iter().filter(|p| !after.contains(p)).cloned().collect();
            let objects = inner.quirks.projects_as_objects;
            let list = |ids: &[String]| crate::state::project_list(ids, objects);
            (installation.clone(), list(&installation.projects), list(&added), list(&removed))
        };
        self.emit(
            "integration-configuration.permission-upgraded",
            json!({
                "configuration": {
                    "id": installation.id,
                    "projectSelection": installation.project_selection,
                    "projects": projects,
                },
                "projects": {"added": added, "removed": removed},
                "team": installation.team_id.as_ref().map(|id| json!({"id": id})),
                "user": {"id": installation.user_id},
            }),
        );
        true
    }

    /// The owner confirms a change of the integration's scopes in Vercel's dashboard
    /// (`integration-configuration.scope-change-confirmed`, with the scopes now granted).
    pub fn confirm_scopes(&self, configuration_id: &str, scopes: &[&str]) -> bool {
        let installation = {
            let mut inner = self.lock();
            let Some(installation) = inner.installations.iter().find(|i| i.id == configuration_id).cloned() else {
                return false;
            };
            inner.scopes = scopes.iter().map(|s| s.to_string()).collect();
            installation
        };
        self.emit(
            "integration-configuration.scope-change-confirmed",
            json!({
                "configuration": {"id": installation.id, "scopes": scopes},
                "team": installation.team_id.as_ref().map(|id| json!({"id": id})),
                "user": {"id": installation.user_id},
            }),
        );
        true
    }

    /// Deletes a project in the account, as a user would in Vercel.
    pub fn remove_project(&self, project_id: &str) -> bool {
        let project = {
            let mut inner = self.lock();
            let Some(index) = inner.projects.iter().position(|p| p.id == project_id) else { return false };
            inner.env.remove(project_id);
            inner.projects.remove(index)
        };
        self.emit("project.removed", self.owner_payload(&project, json!({})));
        true
    }

    /// Renames a project, as a user would in its settings: `project.renamed` carries the new
    /// `project.name` and the `previousName`.
    pub fn rename_project(&self, project_id: &str, name: &str) -> bool {
        let (project, previous) = {
            let mut inner = self.lock();
            let Some(project) = inner.projects.iter_mut().find(|p| p.id == project_id) else { return false };
            let previous = std::mem::replace(&mut project.name, name.to_owned());
            project.updated_at = now_ms();
            (project.clone(), previous)
        };
        self.emit("project.renamed", self.owner_payload(&project, json!({"previousName": previous})));
        true
    }

    /// A production deployment of a project: `deployment.created`, then `deployment.succeeded`.
    pub fn deploy(&self, project_id: &str) -> Option<String> {
        let project = self.lock().projects.iter().find(|p| p.id == project_id).cloned()?;
        let deployment = random_id("dpl_", 16);
        let details = json!({
            "deployment": {"id": deployment, "url": format!("{}-{}.vercel.app", project.name, &deployment[4..10])},
            "target": "production",
        });
        self.emit("deployment.created", self.owner_payload(&project, details.clone()));
        self.emit("deployment.succeeded", self.owner_payload(&project, details));
        Some(deployment)
    }

    /// Who a project event concerns, as Vercel sends it: `user.id` always (for a team's project,
    /// the team's installer), `team.id` for a team's project.
    pub(crate) fn owner_payload(&self, project: &crate::Project, mut extra: Value) -> Value {
        let account = self.lock().accounts.iter().find(|a| a.id == project.account_id).cloned();
        extra["project"] = json!({"id": project.id, "name": project.name});
        match account {
            Some(account) if account.is_team => {
                extra["team"] = json!({"id": project.account_id});
                extra["user"] = json!({"id": account.installer});
            }
            _ => extra["user"] = json!({"id": project.account_id}),
        }
        extra
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }
}
