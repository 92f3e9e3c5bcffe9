//! `PUT`, `GET` and `DELETE /v1/installations/{id}`: Vercel installs the integration natively
//! (handing over the token Tether calls Vercel with), reads it back, and uninstalls it.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{json, Value};

use super::partner::{answer, json_body, Call, Refusal};
use crate::{
    provider::outbox,
    state::AppState,
    store::{
        installations::{mark_removed, token_binding, InstallationStatus},
        native::{NewNativeInstallation, Upserted},
    },
};

/// What an upsert must carry, checked field by field.
struct Upsert {
    token: String,
    account: Value,
    scopes: Value,
    accepted_policies: Value,
}

/// Vercel documents all four fields as required; only the token is needed to act, so the others
/// are checked for their shape when present and kept as sent.
fn upsert_of(body: &Value) -> Result<Upsert, Refusal> {
    let mut fields = Vec::new();
    let token = body.pointer("/credentials/access_token").and_then(Value::as_str).filter(|t| !t.trim().is_empty());
    if token.is_none() {
        fields.push(("credentials.access_token".to_owned(), "the token for Vercel's API is missing".to_owned()));
    }
    let scopes = body.get("scopes").cloned().unwrap_or(json!([]));
    if !scopes.as_array().is_some_and(|all| all.iter().all(Value::is_string)) {
        fields.push(("scopes".to_owned(), "must be a list of scope names".to_owned()));
    }
    let accepted_policies = body.get("acceptedPolicies").cloned().unwrap_or(json!({}));
    if !accepted_policies.is_object() {
        fields.push(("acceptedPolicies".to_owned(), "must map each policy to when it was accepted".to_owned()));
    }
    let account = body.get("account").cloned().unwrap_or(json!({}));
    if !account.is_object() {
        fields.push(("account".to_owned(), "must be an object".to_owned()));
    }
    match token {
        Some(token) if fields.is_empty() => Ok(Upsert { token: token.to_owned(), account, scopes, accepted_policies }),
        _ => Err(Refusal::Invalid {
            message: format!(
                "the installation cannot be kept: {}",
                fields.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
            ),
            fields,
        }),
    }
}

pub async fn upsert(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
    body: Bytes,
) -> Response {
    let call = match Call::admin(&state, &headers, &installation_id).await {
        Ok(call) => call,
        Err(refusal) => return refusal.into_response(),
    };
    match keep(&state, &call, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn keep(state: &AppState, call: &Call, body: &[u8]) -> Result<(), Refusal> {
    let upsert = upsert_of(&json_body(body)?)?;
    let id = &call.installation;
    let sealed = state.settings.sealer.seal(upsert.token.as_bytes(), &token_binding(id.as_str()));
    let new = NewNativeInstallation {
        configuration_id: id,
        team_id: call.claims.account_id.as_deref(),
        user_id: call.actor(),
        sealed_token: &sealed,
        account: &upsert.account.to_string(),
        scopes: &upsert.scopes.to_string(),
        accepted_policies: &upsert.accepted_policies.to_string(),
    };
    match state.store.upsert_native_installation(new).await? {
        Upserted::Stored { created } => {
            tracing::info!(configuration_id = %id, created, by = call.actor(), "native installation kept");
            Ok(())
        }
        Upserted::Removed => Err(Refusal::Conflict("this installation was removed; a new install has a new id".into())),
        Upserted::OtherKind => Err(Refusal::Conflict("this id is an installation made through the popup".into())),
    }
}

pub async fn read(State(state): State<AppState>, headers: HeaderMap, Path(installation_id): Path<String>) -> Response {
    let result = async {
        let call = Call::reader(&state, &headers, &installation_id).await?;
        call.live_owner(&state).await?;
        // Tether does not bill: no installation-level plan, no notification.
        Ok((StatusCode::OK, json!({})))
    };
    answer(result.await)
}

/// Uninstall: the token is destroyed, every resource goes with the installation, and the vendor
/// hears `installation.removed` (and, under `on_uninstall = "release"`, is asked to release what
/// was provisioned) through the outbox, in the same transaction, exactly as when Vercel's
/// `integration-configuration.removed` webhook says it (whichever comes first does it). Tether does not bill, so the
/// uninstall is final at once: `{"finalized": true}`. Repeated, it answers the same.
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
) -> Response {
    let result = async {
        let call = Call::admin(&state, &headers, &installation_id).await?;
        let Some(row) = state.store.native_installation(&call.installation).await? else {
            return Err(Refusal::NotFound("no such installation".into()));
        };
        if row.status == InstallationStatus::Active {
            uninstall(&state, &call, row.owner_id()).await?;
        }
        Ok((StatusCode::OK, json!({"finalized": true})))
    };
    answer(result.await)
}

async fn uninstall(state: &AppState, call: &Call, account: &str) -> Result<(), Refusal> {
    let id = &call.installation;
    let mut tx = state.store.begin().await?;
    let released = outbox::installation_removed(&mut tx, state.settings.provider.on_uninstall, id, account).await?;
    mark_removed(&mut tx, id, crate::store::now_ms()).await?;
    tx.commit().await?;
    tracing::info!(configuration_id = %id, released, by = call.actor(), "native installation removed");
    Ok(())
}
