//! What a native installation asks of Vercel, from the provider outbox's table (the kinds in
//! [`JobKind::TO_VERCEL`]): each call made with the installation's own sealed token, retried
//! with backoff and across restarts like the vendor's jobs, and what Vercel answered passed to
//! the vendor as a notice written in the same transaction that keeps the answer. No
//! transaction is held while Vercel is called, and each one only writes: the notice goes to the
//! job's own account (its owner when it was queued), so no read comes first and takes a SQLite
//! snapshot that a concurrent writer would then make unwritable.

use std::time::Duration;

use serde_json::Value;

use crate::{
    params::ConfigurationId,
    provider::outbox::{Member, Outbound},
    secret::AccessToken,
    state::AppState,
    store::{
        installations::token_binding,
        native,
        provider_jobs::{self, Job, JobKind},
    },
};

const BATCH: i64 = 16;

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        loop {
            match state.store.due_jobs(BATCH, &JobKind::TO_VERCEL).await {
                Ok(jobs) => {
                    for job in jobs {
                        run(&state, &job).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read the native installations' Vercel jobs"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

async fn run(state: &AppState, job: &Job) {
    match state.store.lease_job(&job.id).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => return tracing::error!(%error, "cannot lease a Vercel job"),
    }
    let recorded = match perform(state, job).await {
        Ok(()) => {
            tracing::info!(job_id = %job.id, kind = job.kind.as_str(), "Vercel answered a native job");
            state.store.job_done(&job.id).await
        }
        Err(error) => {
            tracing::warn!(job_id = %job.id, kind = job.kind.as_str(), %error, attempt = job.attempts + 1, "native Vercel job failed; will retry");
            state.store.job_failed(job, &error).await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(%error, "cannot record a Vercel job's outcome");
    }
}

async fn perform(state: &AppState, job: &Job) -> Result<(), String> {
    let body: Value = serde_json::from_str(&job.body).map_err(|e| format!("a stored job does not parse: {e}"))?;
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    let id = ConfigurationId::parse(&text("installation_id")).map_err(|e| e.to_string())?;
    let sealed = {
        let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
        native::native_token(&mut tx, &id).await.map_err(|e| e.to_string())?
    };
    // Removed meanwhile: Vercel no longer answers for it, and the vendor heard of the removal.
    let Some(sealed) = sealed else { return Ok(()) };
    let token = state.settings.sealer.open_string(&sealed, &token_binding(id.as_str())).map_err(|e| e.to_string())?;
    let vercel = state.vercel.as_installation(AccessToken::new(token), None);
    let tx = match job.kind {
        JobKind::ReadAccount => {
            let account = vercel.native_account(&id).await.map_err(|e| e.to_string())?;
            let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
            native::set_native_account(&mut tx, &id, &account.to_string()).await.map_err(|e| e.to_string())?;
            let notice = Outbound {
                cause: &job.id,
                installation_id: &id,
                kind: "installation.created",
                project_id: None,
                to_account: None,
                resource: None,
                member: None,
                team: Some(&account),
            };
            notice.write(&mut tx, &job.account).await.map_err(|e| e.to_string())?;
            tx
        }
        JobKind::ReadMember => {
            let (member_id, role, cause) = (text("member_id"), text("role"), text("cause"));
            let answer = vercel.native_member(&id, &member_id).await.map_err(|e| e.to_string())?;
            let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
            let member = Member {
                id: &member_id,
                role: &role,
                name: answer.as_ref().and_then(|a| a.name.as_deref()),
                email: answer.as_ref().and_then(|a| a.email.as_deref()),
            };
            let notice = Outbound {
                cause: &cause,
                installation_id: &id,
                kind: "member.changed",
                project_id: None,
                to_account: None,
                resource: None,
                member: Some(member),
                team: None,
            };
            notice.write(&mut tx, &job.account).await.map_err(|e| e.to_string())?;
            tx
        }
        JobKind::PushSecrets => {
            let resource = text("resource_id");
            let row = state.store.native_resource(&id, &resource).await.map_err(|e| e.to_string())?;
            // Deleted meanwhile: Vercel removed its secrets with it.
            let Some(vendor_id) = row.and_then(|row| row.vendor_id) else { return Ok(()) };
            // The vendor replaced them itself (`resources.secrets`): its current ones, and no
            // finish. Otherwise `begin` again answers the same new secrets: a retry never makes a
            // third set.
            let reset = body["reset"] == true;
            let env = match reset {
                true => state.provider.env_for(&job.account, &vendor_id).await,
                false => state.provider.begin_rotation(&job.account, &vendor_id).await,
            };
            let secrets = super::resources::secrets_of(&env.map_err(|e| e.to_string())?);
            vercel.replace_secrets(&id, &resource, &secrets).await.map_err(|e| e.to_string())?;
            if reset {
                return Ok(());
            }
            // Vercel has the new secrets: the old ones may stop working now.
            let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
            let finish = crate::provider::outbox::job_id("finish", &[&job.id]);
            let body = serde_json::json!({"resource_id": vendor_id}).to_string();
            provider_jobs::enqueue(&mut tx, &finish, JobKind::FinishRotation, &job.account, &body)
                .await
                .map_err(|e| e.to_string())?;
            tx
        }
        // What the vendor said, as Tether holds it now: a later call's state, never an older one.
        JobKind::PushStatus => {
            let Some(row) = state.store.native_resource(&id, &text("resource_id")).await.map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            let body = Value::Object(super::resources::status_json(&row));
            return vercel.send_resource(reqwest::Method::PATCH, &id, &row.id, &body).await.map_err(|e| e.to_string());
        }
        JobKind::PushInstallation => {
            let row = state.store.native_installation(&id).await.map_err(|e| e.to_string())?;
            let notification =
                row.and_then(|row| row.notification).and_then(|n| serde_json::from_str::<Value>(&n).ok());
            let body = serde_json::json!({ "notification": notification });
            return vercel.update_installation(&id, &body).await.map_err(|e| e.to_string());
        }
        JobKind::PushImport => {
            let row = state.store.native_resource(&id, &text("resource_id")).await.map_err(|e| e.to_string())?;
            let Some((row, vendor_id)) = row.and_then(|row| row.vendor_id.clone().map(|v| (row, v))) else {
                return Ok(());
            };
            let env = state.provider.env_for(&job.account, &vendor_id).await.map_err(|e| e.to_string())?;
            let mut body = super::resources::resource_json(state, &row);
            if let Some(fields) = body.as_object_mut() {
                fields.remove("id");
                if fields.get("notification").is_some_and(Value::is_null) {
                    fields.remove("notification");
                }
            }
            body["secrets"] = Value::Array(super::resources::secrets_of(&env));
            return vercel.send_resource(reqwest::Method::PUT, &id, &row.id, &body).await.map_err(|e| e.to_string());
        }
        JobKind::PushEvent => {
            let Some(row) = state.store.native_resource(&id, &text("resource_id")).await.map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            let event = serde_json::json!({"event": {"type": "resource.updated", "productId": row.product_id, "resourceId": row.id}});
            return vercel.send_event(&id, &event).await.map_err(|e| e.to_string());
        }
        JobKind::RemoveResource => {
            let resource = text("resource_id");
            // Vercel first: until it has let go, the resource and its secrets stay usable.
            vercel.remove_resource(&id, &resource).await.map_err(|e| e.to_string())?;
            let mut tx = state.store.begin().await.map_err(|e| e.to_string())?;
            // The user asked for it: released whatever `on_uninstall` says (an import never is).
            crate::provider::outbox::native_resource_deleted(&mut tx, &id, &resource, &job.account, true)
                .await
                .map_err(|e| e.to_string())?;
            tx
        }
        _ => return Err("a job for the vendor in Vercel's queue".into()),
    };
    tx.commit().await.map_err(|e| e.to_string())
}
