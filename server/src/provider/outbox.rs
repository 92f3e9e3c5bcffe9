//! What the vendor's system hears, written to the provider outbox inside the transaction of the
//! change that causes it (a webhook's effect, a Disconnect, a Partner API call) and sent by [`super::jobs`] once it
//! commits: notices, and releases. A release is only ever asked for a resource Tether created
//! for an installation, when nothing links it any more, and only under
//! `[provider] on_uninstall = "release"`; what the user connected is never released.

use crate::{
    settings::OnUninstall,
    store::{
        links::{self, Origin},
        native::{self, NativeOrigin},
        provider_jobs::{self, JobKind},
        webhook_effects::owner_of,
        Conn,
    },
};

use super::Notice;
use crate::params::ConfigurationId;

type Result<T> = std::result::Result<T, sqlx::Error>;

/// A stable id: the same cause and subject always make the same job, so a repeat is a no-op.
pub fn job_id(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    format!("{prefix}_{}", hex::encode(&Sha256::digest(parts.join("\n").as_bytes())[..12]))
}

/// A notice to the vendor about one installation.
pub struct Outbound<'a> {
    /// What caused it (a webhook's event id, say): one cause makes one notice.
    pub cause: &'a str,
    pub installation_id: &'a ConfigurationId,
    pub kind: &'static str,
    pub project_id: Option<&'a str>,
    pub to_account: Option<&'a str>,
    /// The resource the project was linked to, and where it came from.
    pub resource: Option<(&'a str, Option<Origin>)>,
    /// For `member.changed`: the Vercel member and their role now.
    pub member: Option<Member<'a>>,
    /// For `installation.created`: the team as Vercel's account answer describes it.
    pub team: Option<&'a serde_json::Value>,
}

/// A Vercel team member, as the webhook and Vercel's member answer describe them.
#[derive(Clone, Copy)]
pub struct Member<'a> {
    pub id: &'a str,
    /// `ADMIN`, `USER`, or `NONE` when they left.
    pub role: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl Outbound<'_> {
    /// For the installation's current owner; nothing when Tether never stored the installation.
    pub async fn enqueue(self, conn: &mut Conn) -> Result<()> {
        match owner_of(conn, self.installation_id).await? {
            Some(account) => self.write(conn, &account).await,
            None => Ok(()),
        }
    }

    pub async fn write(self, conn: &mut Conn, account: &str) -> Result<()> {
        let subject = self.project_id.or(self.member.map(|member| member.id)).unwrap_or_default();
        let id = job_id("ntc", &[self.cause, self.installation_id.as_str(), self.kind, subject]);
        let notice = Notice {
            id: id.clone(),
            kind: self.kind.to_owned(),
            installation_id: self.installation_id.as_str().to_owned(),
            account: account.to_owned(),
            project_id: self.project_id.map(str::to_owned),
            to_account: self.to_account.map(str::to_owned),
            resource_id: self.resource.map(|(id, _)| id.to_owned()),
            origin: self.resource.map(|(_, origin)| origin_name(origin).to_owned()),
            member_id: self.member.map(|member| member.id.to_owned()),
            role: self.member.map(|member| member.role.to_owned()),
            member_name: self.member.and_then(|member| member.name).map(str::to_owned),
            member_email: self.member.and_then(|member| member.email).map(str::to_owned),
            team: self.team.cloned(),
        };
        let body = serde_json::to_string(&notice).unwrap_or_default();
        provider_jobs::enqueue(conn, &id, JobKind::Notice, account, &body).await.map(|_| ())
    }
}

/// A link without a recorded origin predates the record: it counts as connected, never released.
pub fn origin_name(origin: Option<Origin>) -> &'static str {
    origin.unwrap_or(Origin::Connected).as_str()
}

/// Asks the vendor to release a resource Tether created for `installation_id`. One job per
/// account and resource, whatever asks for it again.
pub async fn release(
    conn: &mut Conn,
    account: &str,
    installation_id: &ConfigurationId,
    resource_id: &str,
) -> Result<()> {
    let id = job_id("release", &[account, resource_id]);
    let body = serde_json::json!({
        "resource_id": resource_id,
        "installation_id": installation_id.as_str(),
        "origin": Origin::Created.as_str(),
    })
    .to_string();
    provider_jobs::enqueue(conn, &id, JobKind::Release, account, &body).await.map(|_| ())
}

/// A project's link ended (Disconnect, or Vercel took the project away), after the notice that
/// says so. When it was the last link to a resource Tether created, and the policy releases, the
/// resource is released; under `keep` the notice is all the vendor hears. Returns whether a
/// release was asked.
pub async fn link_ended(
    conn: &mut Conn,
    policy: OnUninstall,
    installation_id: &ConfigurationId,
    account: &str,
    resource_id: &str,
    origin: Option<Origin>,
) -> Result<bool> {
    if policy != OnUninstall::Release || origin != Some(Origin::Created) {
        return Ok(false);
    }
    if links::linked_elsewhere(conn, account, resource_id, None).await? {
        return Ok(false);
    }
    release(conn, account, installation_id, resource_id).await?;
    Ok(true)
}

/// The cause of the one `installation.removed` notice an installation ever gets. Removal is
/// final, so whichever of Vercel's signals comes first (the webhook, or a native installation's
/// `DELETE`) makes it, and the other finds it made.
const REMOVED: &str = "installation-removed";

/// An installation was removed: the vendor hears `installation.removed`; a native
/// installation's resources all go with it; and under `release`, every resource Tether created
/// for it that no other installation of the account links is released. Returns how many.
pub async fn installation_removed(
    conn: &mut Conn,
    policy: OnUninstall,
    installation_id: &ConfigurationId,
    account: &str,
) -> Result<usize> {
    let release = policy == OnUninstall::Release;
    let mut released = 0;
    if release {
        for resource in links::created_for(conn, installation_id).await? {
            if !links::linked_elsewhere(conn, account, &resource, Some(installation_id)).await? {
                self::release(conn, account, installation_id, &resource).await?;
                released += 1;
            }
        }
    }
    for resource in native::live_native_resources(conn, installation_id).await? {
        if native_resource_deleted(conn, installation_id, &resource, account, release).await? == Some(true) {
            released += 1;
        }
    }
    let notice = Outbound {
        cause: REMOVED,
        installation_id,
        kind: "installation.removed",
        project_id: None,
        to_account: None,
        resource: None,
        member: None,
        team: None,
    };
    notice.write(conn, account).await?;
    Ok(released)
}

/// A native resource is deleted (at Vercel, or with its installation); when `release`, the
/// vendor is asked to release it. `None` when it was not live; else whether a release was asked.
pub async fn native_resource_deleted(
    conn: &mut Conn,
    installation_id: &ConfigurationId,
    resource_id: &str,
    account: &str,
    release: bool,
) -> Result<Option<bool>> {
    let Some(row) = native::delete_native_resource(conn, installation_id, resource_id).await? else {
        return Ok(None);
    };
    match row.vendor_id.as_deref() {
        // An imported resource was the customer's before: Tether never releases it.
        Some(vendor_id) if release && row.origin == NativeOrigin::Created => {
            self::release(conn, account, installation_id, vendor_id).await?;
            Ok(Some(true))
        }
        _ => Ok(Some(false)),
    }
}
