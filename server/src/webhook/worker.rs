//! Applies stored events in the background: woken when one arrives, and every second for retries
//! and for events a previous process stored but never applied.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

use super::{effects, inbox::StoredEvent};
use crate::{state::AppState, store::now_ms};

const BATCH: i64 = 64;

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        loop {
            match state.store.due_events(BATCH).await {
                Ok(events) if !events.is_empty() => {
                    for event in events {
                        process(&state, &event).await;
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "webhook worker cannot read the inbox"),
            }
            tokio::select! {
                _ = state.worker.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}

/// Claims the event and applies its effect in one transaction: done exactly once, or not at all.
async fn process(state: &AppState, event: &StoredEvent) {
    let result = async {
        let mut tx = state.store.pool.begin().await?;
        // Writing first takes SQLite's write lock at once, and tells whether another worker won.
        let claimed = sqlx::query(
            "UPDATE webhook_events SET state = 'done', processed_at = ? WHERE id = ? AND state = 'pending'",
        )
        .bind(now_ms())
        .bind(&event.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            return Ok::<_, sqlx::Error>(None);
        }
        let outcome = effects::apply(&mut tx, event, state.settings.provider.on_uninstall).await?;
        sqlx::query("UPDATE webhook_events SET outcome = ? WHERE id = ?")
            .bind(&outcome)
            .bind(&event.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(outcome))
    }
    .await;
    match result {
        Ok(Some(outcome)) => tracing::info!(event_id = %event.id, kind = %event.kind, %outcome, "webhook applied"),
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(event_id = %event.id, %error, attempt = event.attempts + 1, "webhook effect failed; will retry");
            if let Err(error) = state.store.event_failed(event, &error.to_string()).await {
                tracing::error!(%error, "cannot record a webhook failure");
            }
        }
    }
}

pub type Wakeup = Arc<Notify>;
