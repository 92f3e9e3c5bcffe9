//! Applies stored events in the background: woken when one arrives, and every second for retries
//! and for events a previous process stored but never applied.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

use super::effects;
use crate::{
    settings::OnUninstall,
    store::{inbox::StoredEvent, Store},
};

const BATCH: i64 = 64;

/// What the worker needs, and nothing else of the server's state.
pub struct Worker {
    pub store: Store,
    /// What an uninstall does to the installation's resources.
    pub on_uninstall: OnUninstall,
    /// Notified when the receiver stores an event.
    pub wakeup: Wakeup,
}

pub fn spawn(worker: Worker) {
    tokio::spawn(async move {
        loop {
            match worker.store.due_events(BATCH).await {
                Ok(events) if !events.is_empty() => {
                    for event in events {
                        process(&worker, &event).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "webhook worker cannot read the inbox"),
            }
            tokio::select! {
                _ = worker.wakeup.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}

/// Claims the event and applies its effect in one transaction: done exactly once, or not at all.
async fn process(worker: &Worker, event: &StoredEvent) {
    let result = async {
        let Some(mut claim) = worker.store.claim_event(&event.id).await? else { return Ok::<_, sqlx::Error>(None) };
        let outcome = effects::apply(claim.conn(), event, worker.on_uninstall).await?;
        claim.finish(&outcome).await?;
        Ok(Some(outcome))
    }
    .await;
    match result {
        Ok(Some(outcome)) => {
            tracing::info!(event_id = %event.id, kind = %event.kind, %outcome, "webhook applied");
            crate::telemetry::webhook(Some(crate::params::EventKind::of(&event.kind)), "applied");
        }
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(event_id = %event.id, %error, attempt = event.attempts + 1, "webhook effect failed; will retry");
            let parked = match worker.store.event_failed(event, &error.to_string()).await {
                Ok(parked) => parked,
                Err(error) => {
                    tracing::error!(%error, "cannot record a webhook failure");
                    false
                }
            };
            crate::telemetry::webhook(
                Some(crate::params::EventKind::of(&event.kind)),
                if parked { "parked" } else { "failed" },
            );
        }
    }
}

pub type Wakeup = Arc<Notify>;
