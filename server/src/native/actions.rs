//! What an admin of the installing team may do on Tether's page of a native installation, after
//! signing in from Vercel, each through the native installation's Vercel jobs:
//! - rotate a resource's secrets: the vendor issues new ones at once (the contract's `begin`),
//!   Tether hands them to Vercel (`PUT .../resources/{id}/secrets`, which writes them into every
//!   connected project), and only once Vercel has them does the vendor revoke the old ones
//!   (`finish`);
//! - delete a resource: Vercel removes it first (`DELETE .../resources/{id}`, and its secrets
//!   from the connected projects), then Tether marks it deleted and the vendor releases what
//!   Tether created (never an imported one), as when the user deletes it at Vercel.
//!
//! A `USER`-role member is refused: Vercel gives them read-only access.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::sso::{page_path, signed_in};
use crate::{
    params::ConfigurationId,
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
    act(&state, &headers, &configuration_id, &resource_id, Action::Rotate).await
}

/// `POST /native/{id}/resources/{rid}/delete`, with the form's `confirm=yes`: nobody deletes
/// by a stray click.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((configuration_id, resource_id)): Path<(String, String)>,
    form: axum::body::Bytes,
) -> Response {
    let confirmed = url::form_urlencoded::parse(&form).any(|(key, value)| key == "confirm" && value == "yes");
    match ConfigurationId::parse(&configuration_id) {
        Ok(installation) if !confirmed => {
            let resource: String = url::form_urlencoded::byte_serialize(resource_id.as_bytes()).collect();
            let back = format!("{}?resource={resource}&notice=confirm", page_path(&installation));
            (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response()
        }
        _ => act(&state, &headers, &configuration_id, &resource_id, Action::Delete).await,
    }
}

#[derive(Clone, Copy)]
enum Action {
    Rotate,
    Delete,
}

async fn act(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
    resource_id: &str,
    action: Action,
) -> Response {
    let (installation, session) = match signed_in(state, headers, configuration_id).await {
        Ok(Some(found)) => found,
        Ok(None) => return web::failure(state, &Failure::NotYours { configure: false }, None, None).await,
        Err(failure) => return web::failure(state, &failure, None, None).await,
    };
    let back = page_path(&installation);
    if !session.is_admin() {
        tracing::info!(configuration_id, resource_id, "a read-only member tried to change a resource");
        return web::failure(state, &Failure::ReadOnlyRole, None, Some(back)).await;
    }
    let resource = match state.store.native_resource(&installation, resource_id).await {
        Ok(found) => found.filter(|r| r.vendor_id.is_some()),
        Err(_) => return web::failure(state, &Failure::StoreDown, None, Some(back)).await,
    };
    let Some(resource) = resource else {
        return web::failure(state, &Failure::NotFound, None, Some(back)).await;
    };
    let (prefix, kind, notice) = match action {
        Action::Rotate => ("push", JobKind::PushSecrets, "rotating"),
        Action::Delete => ("remove", JobKind::RemoveResource, "deleting"),
    };
    // One job per press: a second Rotate while the first is on its way resumes the same
    // rotation (the vendor's `begin` answers the same new secrets); a second Delete finds the
    // resource gone.
    let pressed = crate::store::now_ms().to_string();
    let job = job_id(prefix, &[installation.as_str(), &resource.id, &pressed]);
    let body = json!({"installation_id": installation.as_str(), "resource_id": resource.id}).to_string();
    // The owner is read before the transaction, which only writes: on SQLite a transaction that
    // reads first cannot take the write lock once another connection has written meanwhile.
    let queued = async {
        let owner = state.store.native_installation(&installation).await?.map(|row| row.owner_id().to_owned());
        let mut tx = state.store.begin().await?;
        provider_jobs::enqueue(&mut tx, &job, kind, &owner.unwrap_or_default(), &body).await?;
        tx.commit().await?;
        Ok::<(), crate::store::StoreError>(())
    };
    if queued.await.is_err() {
        return web::failure(state, &Failure::StoreDown, None, Some(back)).await;
    }
    tracing::info!(configuration_id, resource_id, notice, "an admin changed a native resource from Tether's page");
    let to = format!("{back}?resource={}&notice={notice}", resource.id);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}
