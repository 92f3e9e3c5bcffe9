//! What each event does to Tether's state. Every effect is a database change made in the same
//! transaction that marks the event done, so it happens exactly once. Effects are written to give
//! the same final state in any order: removal is final, and per-project records keep the newest.

use serde_json::Value;

use crate::{
    params::{ConfigurationId, EventKind},
    provider::outbox::{self, Outbound},
    settings::OnUninstall,
    store::{
        inbox::StoredEvent,
        links, native as native_rows, now_ms, project_cache,
        provider_jobs::{self, JobKind},
        sso, webhook_effects as store, Conn,
    },
    vercel::configuration::project_ids,
};

type Result<T> = std::result::Result<T, sqlx::Error>;

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str)
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
    // Parsed like every id from outside: one that is not an installation id names none.
    // Native events name it twice (`installationId` too); the configuration's is the documented one.
    let configuration = str_at(payload, &["configuration", "id"])
        .or_else(|| str_at(payload, &["installationId"]))
        .and_then(|id| ConfigurationId::parse(id).ok());
    let configuration = configuration.as_ref();
    match EventKind::of(&event.kind) {
        EventKind::ConfigurationRemoved => match configuration {
            Some(id) => remove_installation(conn, id, event.created_at, on_uninstall).await,
            None => Ok("ignored: no configuration id".into()),
        },
        EventKind::PermissionUpgraded => match configuration {
            Some(id) => access_changed(conn, &event.id, id, payload, on_uninstall).await,
            None => Ok("ignored: no configuration id".into()),
        },
        EventKind::ScopeChangeConfirmed => Ok(format!(
            "recorded scopes {}",
            payload["configuration"]["scopes"].to_string().chars().take(200).collect::<String>()
        )),
        EventKind::Transferred => transferred(conn, &event.id, configuration, payload).await,
        EventKind::ProjectRemoved => project_removed(conn, &event.id, configuration, payload, on_uninstall).await,
        EventKind::ProjectRenamed => project_renamed(conn, configuration, payload).await,
        EventKind::ProjectCreated => project_created(conn, event, configuration, payload).await,
        EventKind::Deployment => deployment(conn, event, &event.kind, configuration, payload).await,
        EventKind::ResourceConnected => {
            resource_project(conn, &event.id, configuration, payload, "project.connected").await
        }
        EventKind::ResourceDisconnected => {
            resource_project(conn, &event.id, configuration, payload, "project.disconnected").await
        }
        EventKind::MemberChanged => member_changed(conn, &event.id, configuration, payload).await,
        EventKind::Other => Ok(format!("ignored unknown type {}", event.kind)),
    }
}

/// A native resource was connected to a project at Vercel, or disconnected: Vercel wrote or
/// removed its secrets there; the vendor hears which of its resources, and which project.
async fn resource_project(
    conn: &mut Conn,
    event_id: &str,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
    kind: &'static str,
) -> Result<String> {
    let project = str_at(payload, &["projectId"]).or_else(|| str_at(payload, &["project", "id"]));
    let (Some(id), Some(resource), Some(project)) = (configuration, str_at(payload, &["resourceId"]), project) else {
        return Ok("ignored: no installation, resource or project".into());
    };
    let Some(vendor_id) = native_rows::vendor_id(conn, id, resource).await? else {
        return Ok(format!("ignored: {resource} is no native resource of this installation"));
    };
    // What the signed-in user's page shows: where Vercel wrote the resource's secrets.
    match kind {
        "project.connected" => sso::connect(conn, resource, project, str_at(payload, &["project", "name"])).await?,
        _ => sso::disconnect(conn, resource, project).await?,
    }
    let notice = Outbound {
        cause: event_id,
        installation_id: id,
        kind,
        project_id: Some(project),
        to_account: None,
        resource: Some((&vendor_id, Some(links::Origin::Created))),
        member: None,
        team: None,
    };
    notice.enqueue(conn).await?;
    Ok(format!("{kind}: {resource} and {project}"))
}

/// A member's role changed in a team that installed natively: the vendor hears who and what.
async fn member_changed(
    conn: &mut Conn,
    event_id: &str,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
) -> Result<String> {
    let (Some(id), Some(member)) = (configuration, str_at(payload, &["memberId"])) else {
        return Ok("ignored: no installation or member".into());
    };
    // Vercel documents ADMIN, USER and NONE, and the contract promises the vendor only those.
    let role = match str_at(payload, &["role"]) {
        Some(role @ ("ADMIN" | "USER" | "NONE")) => role,
        _ => return Ok("ignored: a role Vercel does not document".into()),
    };
    // Vercel's member answer (name, email) goes with the notice: read it first, with the
    // installation's token (see `native::vercel_jobs`), for the installation's current owner.
    let Some(owner) = store::owner_of(conn, id).await? else {
        return Ok("ignored: an installation Tether never stored".into());
    };
    let body =
        serde_json::json!({"installation_id": id.as_str(), "member_id": member, "role": role, "cause": event_id});
    let job = outbox::job_id("mbr", &[event_id, id.as_str(), member]);
    provider_jobs::enqueue(conn, &job, JobKind::ReadMember, &owner, &body.to_string()).await?;
    Ok(format!("member {member} is now {role}"))
}

/// Projects were added to or taken away from the installation at Vercel: the next page load
/// lists them anew, and links to projects taken away are closed.
async fn access_changed(
    conn: &mut Conn,
    event_id: &str,
    id: &ConfigurationId,
    payload: &Value,
    on_uninstall: OnUninstall,
) -> Result<String> {
    project_cache::forget_projects(conn, id).await?;
    let removed = project_ids(&payload["projects"]["removed"]);
    for project in &removed {
        close_link(conn, event_id, id, project, on_uninstall).await?;
    }
    Ok(format!("closed {} link(s) for projects no longer shared", removed.len()))
}

/// An owner moved the installation: to another team (the vendor hears of it), or to another
/// member of the same team, which is how a disabled installation comes back.
async fn transferred(
    conn: &mut Conn,
    event_id: &str,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
) -> Result<String> {
    let (Some(id), Some(team)) = (configuration, str_at(payload, &["newTeamId"])) else {
        return Ok("ignored: incomplete transfer".into());
    };
    // The vendor's account does not change within the team.
    if str_at(payload, &["previousTeamId"]) == Some(team) {
        store::move_to_team(conn, id, team).await?;
        return Ok(format!("transferred to another member of {team}; enabled"));
    }
    let notice = Outbound {
        cause: event_id,
        installation_id: id,
        kind: "installation.transferred",
        project_id: None,
        to_account: Some(team),
        resource: None,
        member: None,
        team: None,
    };
    notice.enqueue(conn).await?;
    store::move_to_team(conn, id, team).await?;
    project_cache::forget_projects(conn, id).await?;
    Ok(format!("moved to team {team}"))
}

async fn project_removed(
    conn: &mut Conn,
    event_id: &str,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
    on_uninstall: OnUninstall,
) -> Result<String> {
    let Some(project) = str_at(payload, &["project", "id"]) else {
        return Ok("ignored: no project id".into());
    };
    let installations = installations_for(conn, payload, configuration).await?;
    for id in &installations {
        close_link(conn, event_id, id, project, on_uninstall).await?;
    }
    Ok(format!("closed links to {project} in {} installation(s)", installations.len()))
}

async fn project_renamed(conn: &mut Conn, configuration: Option<&ConfigurationId>, payload: &Value) -> Result<String> {
    let (Some(project), Some(name)) = (str_at(payload, &["project", "id"]), str_at(payload, &["project", "name"]))
    else {
        return Ok("ignored: no project id or name".into());
    };
    let installations = installations_for(conn, payload, configuration).await?;
    for id in &installations {
        store::rename_project(conn, id, project, name).await?;
        project_cache::forget_projects(conn, id).await?;
    }
    Ok(format!("renamed {project} to {name} in {} installation(s)", installations.len()))
}

async fn project_created(
    conn: &mut Conn,
    event: &StoredEvent,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
) -> Result<String> {
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

/// A deployment of a linked project, shown on Configure.
async fn deployment(
    conn: &mut Conn,
    event: &StoredEvent,
    kind: &str,
    configuration: Option<&ConfigurationId>,
    payload: &Value,
) -> Result<String> {
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

/// The installation can no longer see the project. The vendor hears of it when it was linked,
/// with the resource and its origin; a resource Tether created that nothing links any more is
/// released under the `release` policy.
async fn close_link(
    conn: &mut Conn,
    event_id: &str,
    installation_id: &ConfigurationId,
    project: &str,
    policy: OnUninstall,
) -> Result<()> {
    let was_linked = store::is_linked(conn, installation_id, project).await?;
    project_cache::forget_projects(conn, installation_id).await?;
    store::close_link(conn, installation_id, project).await?;
    if !was_linked {
        return Ok(());
    }
    // Closing keeps the link's resource and origin: read them only when the vendor hears of it.
    let resource = links::resource_of_link(conn, installation_id, project).await?;
    let Some(account) = store::owner_of(conn, installation_id).await? else { return Ok(()) };
    let notice = Outbound {
        cause: event_id,
        installation_id,
        kind: "project.removed",
        project_id: Some(project),
        to_account: None,
        resource: resource.as_ref().map(|(id, origin)| (id.as_str(), *origin)),
        member: None,
        team: None,
    };
    notice.write(conn, &account).await?;
    if let Some((resource_id, origin)) = &resource {
        outbox::link_ended(conn, policy, installation_id, &account, resource_id, *origin).await?;
    }
    Ok(())
}

/// The vendor is told, and, when the policy says so, asked to release what Tether created for
/// this installation and no other installation links; both through the outbox, after this
/// transaction commits.
async fn remove_installation(
    conn: &mut Conn,
    configuration_id: &ConfigurationId,
    at: i64,
    on_uninstall: OnUninstall,
) -> Result<String> {
    let mut released = 0;
    // An installation Tether never stored (the webhook beat the callback) is nothing the vendor knows.
    if let Some(account) = store::owner_of(conn, configuration_id).await? {
        released = outbox::installation_removed(conn, on_uninstall, configuration_id, &account).await?;
    }
    crate::store::installations::mark_removed(conn, configuration_id, if at > 0 { at } else { now_ms() }).await?;
    Ok(format!("uninstalled: token destroyed, links closed, {released} resource(s) Tether created to release"))
}

/// The installations an event concerns: the one it names, else those of its team or user.
async fn installations_for(
    conn: &mut Conn,
    payload: &Value,
    configuration: Option<&ConfigurationId>,
) -> Result<Vec<ConfigurationId>> {
    if let Some(id) = configuration {
        return Ok(vec![id.clone()]);
    }
    let owner = match (str_at(payload, &["team", "id"]), str_at(payload, &["user", "id"])) {
        (Some(team), _) => store::Owner::Team(team),
        (None, Some(user)) => store::Owner::User(user),
        (None, None) => return Ok(Vec::new()),
    };
    store::active_installations_of(conn, owner).await
}
