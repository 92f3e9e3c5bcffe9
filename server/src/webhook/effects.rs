//! What each event does to Tether's state. Every effect is a database change made in the same
//! transaction that marks the event done, so it happens exactly once. Effects are written to give
//! the same final state in any order: removal is final, and per-project records keep the newest.

use crate::store::Conn;
use serde_json::Value;

use crate::{
    config::OnUninstall,
    provider::Notice,
    store::{
        inbox::StoredEvent,
        now_ms, project_cache,
        provider_jobs::{self, JobKind},
        webhook_effects as store,
    },
};

type Result<T> = std::result::Result<T, sqlx::Error>;

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str)
}

/// Ids from a list that Vercel may send as strings or as objects with an `id`.
fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items.iter().filter_map(|item| item.as_str().or_else(|| item["id"].as_str())).map(str::to_owned).collect()
        })
        .unwrap_or_default()
}

/// Vercel retries a delivery for up to a day. An event older than this was captured and
/// replayed, or is too stale to act on: it is acknowledged and recorded, not applied.
pub const MAX_EVENT_AGE_MS: i64 = 48 * 60 * 60 * 1000;

/// Applies one event; the returned text says what was done, for the inbox's record.
pub async fn apply(conn: &mut Conn, event: &StoredEvent, on_uninstall: OnUninstall) -> Result<String> {
    // Vercel stamps every event. One without a stamp cannot be held to the replay window (nor
    // ordered against others), so it is recorded for the operator and not applied.
    if event.created_at <= 0 {
        return Ok("ignored: no createdAt, so its age cannot be checked".into());
    }
    if now_ms() - event.created_at > MAX_EVENT_AGE_MS {
        return Ok(format!(
            "ignored: created {} h ago, older than the replay window",
            (now_ms() - event.created_at) / 3_600_000
        ));
    }
    let body: Value = serde_json::from_str(&event.body).unwrap_or_default();
    let payload = &body["payload"];
    let configuration = str_at(payload, &["configuration", "id"]);
    match event.kind.as_str() {
        "integration-configuration.removed" | "integration-configuration-removed" => match configuration {
            Some(id) => remove_installation(conn, &event.id, id, event.created_at, on_uninstall).await,
            None => Ok("ignored: no configuration id".into()),
        },
        "integration-configuration.permission-upgraded" => {
            let Some(id) = configuration else { return Ok("ignored: no configuration id".into()) };
            // Projects were added or taken away: the next page load lists them at Vercel.
            project_cache::forget_projects(conn, id).await?;
            let removed = ids(&payload["projects"]["removed"]);
            for project in &removed {
                close_link(conn, &event.id, id, project).await?;
            }
            Ok(format!("closed {} link(s) for projects no longer shared", removed.len()))
        }
        "integration-configuration.scope-change-confirmed" => Ok(format!(
            "recorded scopes {}",
            payload["configuration"]["scopes"].to_string().chars().take(200).collect::<String>()
        )),
        "integration-configuration.transferred" => {
            let (Some(id), Some(team)) = (configuration, str_at(payload, &["newTeamId"])) else {
                return Ok("ignored: incomplete transfer".into());
            };
            let notice = Outbound {
                event_id: &event.id,
                installation_id: id,
                kind: "installation.transferred",
                project_id: None,
                to_account: Some(team),
            };
            notice.enqueue(conn).await?;
            store::move_to_team(conn, id, team).await?;
            project_cache::forget_projects(conn, id).await?;
            Ok(format!("moved to team {team}"))
        }
        "project.removed" => {
            let Some(project) = str_at(payload, &["project", "id"]) else {
                return Ok("ignored: no project id".into());
            };
            let installations = installations_for(conn, payload, configuration).await?;
            for id in &installations {
                close_link(conn, &event.id, id, project).await?;
            }
            Ok(format!("closed links to {project} in {} installation(s)", installations.len()))
        }
        "project.created" => {
            let Some(project) = str_at(payload, &["project", "id"]) else {
                return Ok("ignored: no project id".into());
            };
            let name = str_at(payload, &["project", "name"]).unwrap_or(project);
            let installations = installations_for(conn, payload, configuration).await?;
            for id in &installations {
                store::record_project_event(conn, id, project, "project.created", name, event.created_at).await?;
                project_cache::forget_projects(conn, id).await?;
            }
            Ok(format!("recorded new project {name}"))
        }
        kind if kind.starts_with("deployment.") => {
            let project = str_at(payload, &["project", "id"]).or_else(|| str_at(payload, &["projectId"]));
            let Some(project) = project else { return Ok("ignored: no project id".into()) };
            let state = kind.trim_start_matches("deployment.");
            let url = str_at(payload, &["deployment", "url"]).unwrap_or_default();
            let detail = format!("{state} {url}").trim().to_owned();
            let mut recorded = 0;
            for id in installations_for(conn, payload, configuration).await? {
                if store::is_linked(conn, &id, project).await? {
                    store::record_project_event(conn, &id, project, "deployment", &detail, event.created_at).await?;
                    recorded += 1;
                }
            }
            Ok(format!("recorded deployment {state} for {recorded} link(s)"))
        }
        other => Ok(format!("ignored unknown type {other}")),
    }
}

/// The installation can no longer see the project. The vendor hears of it when it was linked.
async fn close_link(conn: &mut Conn, event_id: &str, installation_id: &str, project: &str) -> Result<()> {
    if store::is_linked(conn, installation_id, project).await? {
        let notice = Outbound {
            event_id,
            installation_id,
            kind: "project.removed",
            project_id: Some(project),
            to_account: None,
        };
        notice.enqueue(conn).await?;
    }
    project_cache::forget_projects(conn, installation_id).await?;
    store::close_link(conn, installation_id, project).await
}

/// The vendor is told, and, when the policy says so, asks to release what only this
/// installation used; both through the outbox, after this transaction commits.
async fn remove_installation(
    conn: &mut Conn,
    event_id: &str,
    configuration_id: &str,
    at: i64,
    on_uninstall: OnUninstall,
) -> Result<String> {
    let mut released = 0;
    // An installation Tether never stored (the webhook beat the callback) is nothing the vendor knows.
    if let Some(account) = store::owner_of(conn, configuration_id).await? {
        if on_uninstall == OnUninstall::Release {
            for resource in store::unshared_resources(conn, configuration_id).await? {
                let id = job_id("release", &[&account, &resource]);
                let body = serde_json::json!({ "resource_id": resource }).to_string();
                provider_jobs::enqueue(conn, &id, JobKind::Release, &account, &body).await?;
                released += 1;
            }
        }
        let notice = Outbound {
            event_id,
            installation_id: configuration_id,
            kind: "installation.removed",
            project_id: None,
            to_account: None,
        };
        notice.write(conn, &account).await?;
    }
    crate::store::installations::mark_removed(conn, configuration_id, if at > 0 { at } else { now_ms() }).await?;
    Ok(format!("uninstalled: token destroyed, links closed, {released} resource(s) to release"))
}

/// A stable id: the same event and subject always make the same job, so a repeat is a no-op.
fn job_id(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    format!("{prefix}_{}", hex::encode(&Sha256::digest(parts.join("\n").as_bytes())[..12]))
}

/// A notice to the vendor about one installation, written to the outbox.
struct Outbound<'a> {
    event_id: &'a str,
    installation_id: &'a str,
    kind: &'static str,
    project_id: Option<&'a str>,
    to_account: Option<&'a str>,
}

impl Outbound<'_> {
    /// For the installation's current owner; nothing when Tether never stored the installation.
    async fn enqueue(self, conn: &mut Conn) -> Result<()> {
        match store::owner_of(conn, self.installation_id).await? {
            Some(account) => self.write(conn, &account).await,
            None => Ok(()),
        }
    }

    async fn write(self, conn: &mut Conn, account: &str) -> Result<()> {
        let id = job_id("ntc", &[self.event_id, self.installation_id, self.kind, self.project_id.unwrap_or_default()]);
        let notice = Notice {
            id: id.clone(),
            kind: self.kind.to_owned(),
            installation_id: self.installation_id.to_owned(),
            account: account.to_owned(),
            project_id: self.project_id.map(str::to_owned),
            to_account: self.to_account.map(str::to_owned),
        };
        let body = serde_json::to_string(&notice).unwrap_or_default();
        provider_jobs::enqueue(conn, &id, JobKind::Notice, account, &body).await
    }
}

/// The installations an event concerns: the one it names, else those of its team or user.
async fn installations_for(conn: &mut Conn, payload: &Value, configuration: Option<&str>) -> Result<Vec<String>> {
    if let Some(id) = configuration {
        return Ok(vec![id.to_owned()]);
    }
    let owner = match (str_at(payload, &["team", "id"]), str_at(payload, &["user", "id"])) {
        (Some(team), _) => store::Owner::Team(team),
        (None, Some(user)) => store::Owner::User(user),
        (None, None) => return Ok(Vec::new()),
    };
    store::active_installations_of(conn, owner).await
}
