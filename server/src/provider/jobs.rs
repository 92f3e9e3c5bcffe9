//! Sends the provider outbox: notices and releases the webhook effects wrote, and the ends of
//! native rotations when their delay has passed. Each instance runs
//! one; a job is leased before its call, so two instances rarely send the same one, and when
//! they do the vendor sees a repeat it can drop by id (the contract says at least once).

use std::{sync::Arc, time::Duration};

use super::{Notice, Provider, ProviderError};
use crate::store::{
    provider_jobs::{Job, JobKind},
    Store,
};

const BATCH: i64 = 32;

pub fn spawn(store: Store, provider: Arc<dyn Provider>) {
    tokio::spawn(async move {
        loop {
            match store.due_jobs(BATCH, &JobKind::TO_VENDOR).await {
                Ok(jobs) => {
                    for job in jobs {
                        send(&store, provider.as_ref(), &job).await;
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read the provider outbox"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

async fn send(store: &Store, provider: &dyn Provider, job: &Job) {
    match store.lease_job(&job.id).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(error) => return tracing::error!(%error, "cannot lease a provider job"),
    }
    let result = match job.kind {
        JobKind::Notice => match serde_json::from_str::<Notice>(&job.body) {
            Ok(notice) => provider.notify(&notice).await,
            Err(error) => Err(ProviderError::Failed(format!("a stored notice does not parse: {error}"))),
        },
        JobKind::Release => match serde_json::from_str::<serde_json::Value>(&job.body) {
            // A release recorded before origins were cannot show Tether created the resource: it is
            // never sent, and is parked for the operator once its attempts run out.
            Ok(body) if body["origin"] != "created" => Err(ProviderError::Failed(
                "a release recorded before resource origins: not sent, since Tether cannot show it created the \
                 resource"
                    .into(),
            )),
            Ok(body) => {
                let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
                provider.release(&job.account, &field("resource_id"), &field("installation_id")).await
            }
            Err(error) => Err(ProviderError::Failed(format!("a stored release does not parse: {error}"))),
        },
        JobKind::FinishRotation => match serde_json::from_str::<serde_json::Value>(&job.body) {
            Ok(body) => {
                match provider.finish_rotation(&job.account, body["resource_id"].as_str().unwrap_or_default()).await {
                    // Released meanwhile: nothing left to revoke.
                    Err(ProviderError::UnknownResource(_)) => Ok(()),
                    other => other,
                }
            }
            Err(error) => Err(ProviderError::Failed(format!("a stored rotation does not parse: {error}"))),
        },
        // Never selected here: the native installations' Vercel worker does these.
        JobKind::ReadAccount
        | JobKind::ReadMember
        | JobKind::PushSecrets
        | JobKind::PushStatus
        | JobKind::PushInstallation
        | JobKind::PushImport
        | JobKind::RemoveResource
        | JobKind::PushEvent => Err(ProviderError::Failed("a job for Vercel in the vendor's queue".into())),
    };
    let recorded = match result {
        Ok(()) => {
            tracing::info!(job_id = %job.id, kind = job.kind.as_str(), "the vendor took a job");
            store.job_done(&job.id).await
        }
        Err(error) => {
            tracing::warn!(job_id = %job.id, kind = job.kind.as_str(), %error, attempt = job.attempts + 1, "provider job failed; will retry");
            store.job_failed(job, &error.to_string()).await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(%error, "cannot record a provider job's outcome");
    }
}
