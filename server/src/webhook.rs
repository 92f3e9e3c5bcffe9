//! `POST /webhooks/vercel`: verify the signature on the raw bytes, store the event in the inbox
//! keyed by its id, answer 200. The worker applies it afterwards, exactly once.

pub mod effects;
pub mod verify;
pub mod worker;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;

use crate::{params::EventKind, state::AppState, telemetry};

/// Larger bodies get 413 before any hashing: real events are a few KiB.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "createdAt", default)]
    created_at: i64,
    #[serde(default)]
    payload: serde_json::Value,
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-vercel-signature").and_then(|v| v.to_str().ok());
    if !verify::verify(&body, signature, &state.settings.vercel.webhook_secrets) {
        tracing::warn!(security_event = "webhook_signature_rejected", bytes = body.len(), "webhook refused");
        telemetry::webhook(None, "rejected");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        telemetry::webhook(None, "malformed");
        return StatusCode::BAD_REQUEST;
    };
    if envelope.id.is_empty() || envelope.id.len() > 128 || envelope.kind.len() > 128 {
        telemetry::webhook(None, "malformed");
        return StatusCode::BAD_REQUEST;
    }
    let configuration_id = envelope.payload["configuration"]["id"].as_str();
    if let Some(id) = configuration_id.and_then(|id| crate::params::ConfigurationId::parse(id).ok()) {
        crate::telemetry::record_installation(&id);
    }
    // Waits for the commit that holds it (shared with the deliveries arriving meanwhile): the
    // 200 below means the event is on disk.
    let stored = state
        .intake
        .store(crate::store::inbox::Delivered {
            id: envelope.id.clone(),
            kind: envelope.kind.clone(),
            configuration_id: configuration_id.map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
            created_at: envelope.created_at,
        })
        .await;
    match stored {
        Ok(fresh) => {
            tracing::info!(event_id = %envelope.id, kind = %envelope.kind, fresh, "webhook stored");
            telemetry::webhook(Some(EventKind::of(&envelope.kind)), if fresh { "stored" } else { "duplicate" });
            if fresh {
                state.worker.notify_one();
            }
            StatusCode::OK
        }
        Err(error) => {
            // Not stored, so not acknowledged: Vercel will deliver it again.
            tracing::warn!(%error, event_id = %envelope.id, "webhook not stored; answering 503");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
