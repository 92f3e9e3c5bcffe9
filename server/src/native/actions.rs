//! What an admin of the installing team may do on Tether's page of a native installation, after
//! signing in from Vercel: rotate a resource's secrets. The vendor issues new ones at once (the
//! contract's `begin`), Tether hands them to Vercel (`PUT .../resources/{id}/secrets`, which
//! writes them into every connected project) through the native installation's Vercel jobs,
//! and only once Vercel has them does the vendor revoke the old ones (`finish`). A `USER`-role
//! member is refused: Vercel gives them read-only access.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::sso::{page_path, signed_in};
use crate::{
    provider::outbox::job_id,
    state::AppState,
    store::provider_jobs::{self, JobKind},
    web::{self, Failure},
};

/// `POST /native/{id}/resources/{rid}/rotate`.
pub async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((configuration_id, resource_id)): Path<(String, String)>,
) -> Response {
    let (installation, session) = match signed_in(&state, &headers, &configuration_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return web::failure(&state, &Failure::NotYours { configure: false }, None, None).await,
        Err(failure) => return web::failure(&state, &failure, None, None).await,
    };
    let back = page_path(&installation);
    if !session.is_admin() {
        tracing::info!(configuration_id, resource_id, "a read-only member tried to rotate");
        return web::failure(&state, &Failure::ReadOnlyRole, None, Some(back)).await;
    }
    let resource = match state.store.native_resource(&installation, &resource_id).await {
        Ok(found) => found.filter(|r| r.vendor_id.is_some()),
        Err(_) => return web::failure(&state, &Failure::StoreDown, None, Some(back)).await,
    };
    let Some(resource) = resource else {
        return web::failure(&state, &Failure::NotFound, None, Some(back)).await;
    };
    // One push per press: a second press while the first is on its way resumes the same
    // rotation (the vendor's `begin` answers the same new secrets).
    let pressed = crate::store::now_ms().to_string();
    let job = job_id("push", &[installation.as_str(), &resource.id, &pressed]);
    let body = json!({"installation_id": installation.as_str(), "resource_id": resource.id}).to_string();
    // The owner is read before the transaction, which only writes: on SQLite a transaction that
    // reads first cannot take the write lock once another connection has written meanwhile.
    let queued = async {
        let owner = state.store.native_installation(&installation).await?.map(|row| row.owner_id().to_owned());
        let mut tx = state.store.begin().await?;
        provider_jobs::enqueue(&mut tx, &job, JobKind::PushSecrets, &owner.unwrap_or_default(), &body).await?;
        tx.commit().await?;
        Ok::<(), crate::store::StoreError>(())
    };
    if queued.await.is_err() {
        return web::failure(&state, &Failure::StoreDown, None, Some(back)).await;
    }
    tracing::info!(configuration_id, resource_id, "a native resource's secrets are being rotated from Tether");
    let to = format!("{back}?resource={}&notice=rotating", resource.id);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}
