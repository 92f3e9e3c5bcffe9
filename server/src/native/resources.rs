//! The resources Vercel provisions through a native installation: `POST
//! /v1/installations/{id}/resources` (Vercel's create form), `GET`, `PATCH` and `DELETE` of one,
//! and `POST .../secrets/rotate`. Each goes onto the provider contract: `resources.create` then
//! `resources.env` for the secrets, `resources.rotate` in its two phases, `resources.release`.
//!
//! The id Vercel knows is Tether's own (`nres_…`), written before the vendor is asked, so a crash
//! between the two leaves a row that Vercel's retry (same Idempotency-Key) resumes; the vendor's
//! id stays inside Tether.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{json, Map, Value};

use super::{
    metadata,
    partner::{answer, idempotency_key, json_body, Call, Refusal},
};
use crate::{
    provider::{outbox, EnvValue, NativeRequest, NewResource, ProviderError},
    settings::{
        products::{Plan, PlanScope, Product},
        Target,
    },
    state::AppState,
    store::{
        native::{NativeOrigin, NativeResourceRow, NativeResourceStatus, Recorded, ResourceChange},
        provider_jobs::{self, JobKind},
    },
};

/// The longest name Tether keeps for a resource (the contract's `Resource.name` allows 200).
pub(crate) const MAX_NAME: usize = 128;

/// How long Vercel may ask the old secrets to keep working: 30 days.
const MAX_DELAY_HOURS: f64 = 720.0;

pub(crate) fn product<'a>(state: &'a AppState, id: &str) -> Option<&'a Product> {
    state.settings.products.iter().find(|p| p.slug == id)
}

/// A plan a resource of `product` may take.
pub(crate) fn resource_plan<'a>(product: &'a Product, id: &str) -> Option<&'a Plan> {
    product.plans.iter().find(|p| p.id == id && p.scope == PlanScope::Resource)
}

/// A provision request, every field checked.
struct Provision<'a> {
    product: &'a Product,
    name: String,
    metadata: Value,
    plan: &'a Plan,
    external_id: Option<String>,
}

fn provision_of<'a>(state: &'a AppState, body: &Value) -> Result<Provision<'a>, Refusal> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let mut fields = Vec::new();
    let product = text("productId").and_then(|id| product(state, id));
    if product.is_none() {
        fields.push(("productId".to_owned(), "no product of this integration has this id".to_owned()));
    }
    let name = text("name").filter(|n| n.chars().count() <= MAX_NAME);
    if name.is_none() {
        fields.push(("name".to_owned(), format!("a name of 1 to {MAX_NAME} characters is needed")));
    }
    let metadata = body.get("metadata").cloned().unwrap_or_else(|| json!({}));
    // Documented as required; when absent, the product's first resource plan (a free one by default).
    let plan = product.and_then(|p| match text("billingPlanId") {
        Some(id) => resource_plan(p, id),
        None => p.plans.iter().find(|plan| plan.scope == PlanScope::Resource),
    });
    if product.is_some() && plan.is_none() {
        fields.push(("billingPlanId".to_owned(), "the product has no such plan".to_owned()));
    }
    if let Some(product) = product {
        fields.extend(metadata::problems(product.metadata_schema.as_ref(), &metadata));
    }
    let external_id = text("externalId").map(str::to_owned);
    match (product, name, plan) {
        (Some(product), Some(name), Some(plan)) if fields.is_empty() => {
            Ok(Provision { product, name: name.to_owned(), metadata, plan, external_id })
        }
        _ => Err(invalid("the resource cannot be created", fields)),
    }
}

fn invalid(what: &str, fields: Vec<(String, String)>) -> Refusal {
    let keys: Vec<&str> = fields.iter().map(|(key, _)| key.as_str()).collect();
    Refusal::Invalid { message: format!("{what}: {}", keys.join(", ")), fields }
}

pub(crate) fn digest(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// The key Tether sends the vendor for one provision: the same for every attempt at it.
fn vendor_key(row: &NativeResourceRow) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{}", row.configuration_id, row.id).as_bytes());
    format!("tether-native-{}", hex::encode(&digest[..16]))
}

pub(crate) fn new_id() -> String {
    use rand::Rng;
    let bytes: [u8; 12] = rand::thread_rng().gen();
    format!("nres_{}", hex::encode(bytes))
}

/// The resource as Vercel reads it: its status is the vendor's once provisioned.
pub(crate) fn resource_json(state: &AppState, row: &NativeResourceRow) -> Value {
    let plan = product(state, &row.product_id).and_then(|p| p.plans.iter().find(|plan| plan.id == row.billing_plan_id));
    let mut body = json!({
        "id": row.id,
        "productId": row.product_id,
        "name": row.name,
        "metadata": serde_json::from_str::<Value>(&row.metadata).unwrap_or_else(|_| json!({})),
    });
    if let Some(fields) = body.as_object_mut() {
        fields.extend(status_json(row));
    }
    if let Some(plan) = plan {
        body["billingPlan"] = serde_json::to_value(plan).unwrap_or(Value::Null);
    }
    body
}

/// A resource's status as Vercel shows it: the vendor's word once provisioned (`suspended`, …).
pub(crate) fn vercel_status(row: &NativeResourceRow) -> &str {
    match row.status {
        NativeResourceStatus::Ready => row.vendor_status.as_deref().unwrap_or("ready"),
        _ => "pending",
    }
}

/// A resource's `status` and `notification` (`null`: none) as Vercel takes them.
pub(crate) fn status_json(row: &NativeResourceRow) -> Map<String, Value> {
    let status = vercel_status(row);
    let notification = row.notification.as_deref().and_then(|n| serde_json::from_str(n).ok()).unwrap_or(Value::Null);
    Map::from_iter([("status".to_owned(), json!(status)), ("notification".to_owned(), notification)])
}

/// The contract's env values as Vercel's secrets. A value for every environment is one secret;
/// values that differ by environment become `environmentOverrides`, and an environment a
/// variable is not for gets an empty value there, never another environment's secret.
pub fn secrets_of(values: &[EnvValue]) -> Vec<Value> {
    let mut keys: Vec<&str> = Vec::new();
    for value in values {
        if !keys.contains(&value.key.as_str()) {
            keys.push(&value.key);
        }
    }
    keys.into_iter()
        .map(|key| {
            let entries: Vec<&EnvValue> = values.iter().filter(|v| v.key == key).collect();
            let for_target =
                |target: Target| entries.iter().find(|v| v.targets.contains(&target)).map(|v| v.value.as_str());
            let base = for_target(Target::Production).unwrap_or(&entries[0].value);
            let mut overrides = Map::new();
            for target in [Target::Development, Target::Preview, Target::Production] {
                let value = for_target(target).unwrap_or("");
                if value != base {
                    overrides.insert(target.as_str().to_owned(), json!(value));
                }
            }
            let mut secret = json!({"name": key, "value": base});
            if !overrides.is_empty() {
                secret["environmentOverrides"] = Value::Object(overrides);
            }
            secret
        })
        .collect()
}

/// The vendor could not do it: a refusal in its own words is the user's to read (400), anything
/// else is unavailability Vercel retries (503).
fn vendor_failed(error: ProviderError) -> Refusal {
    match error {
        ProviderError::Refused { message, .. } => Refusal::Invalid { message, fields: Vec::new() },
        ProviderError::UnknownResource(_) => Refusal::NotFound("the vendor no longer has this resource".into()),
        other => {
            tracing::warn!(error = %other, "a Partner API call could not reach the vendor");
            Refusal::Unavailable("the vendor's system is unavailable; try again".into())
        }
    }
}

pub async fn provision(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(installation_id): Path<String>,
    body: Bytes,
) -> Response {
    answer(provision_answer(&state, &headers, &installation_id, &body).await)
}

async fn provision_answer(
    state: &AppState,
    headers: &HeaderMap,
    installation_id: &str,
    body: &[u8],
) -> Result<(StatusCode, Value), Refusal> {
    let call = Call::admin(state, headers, installation_id).await?;
    let owner = call.live_owner(state).await?;
    let key = idempotency_key(headers)?;
    let body = json_body(body)?;
    let request = provision_of(state, &body)?;
    let fresh = NativeResourceRow {
        id: new_id(),
        configuration_id: call.installation.as_str().to_owned(),
        vendor_id: None,
        product_id: request.product.slug.clone(),
        name: request.name.clone(),
        metadata: request.metadata.to_string(),
        billing_plan_id: request.plan.id.clone(),
        external_id: request.external_id.clone(),
        status: NativeResourceStatus::Provisioning,
        idempotency_key: key,
        request_digest: digest(&body),
        origin: NativeOrigin::Created,
        vendor_status: None,
        notification: None,
    };
    let mut row = match state.store.record_provision(&fresh).await? {
        Recorded::New => fresh,
        Recorded::Seen(seen) if seen.request_digest != fresh.request_digest => {
            return Err(Refusal::Conflict("this Idempotency-Key was sent with another request".into()))
        }
        Recorded::Seen(seen) if seen.status == NativeResourceStatus::Deleted => {
            return Err(Refusal::Conflict("the resource made under this Idempotency-Key was deleted".into()))
        }
        Recorded::Seen(seen) => *seen,
        Recorded::NameTaken => {
            return Err(Refusal::Conflict(format!("a resource named `{}` exists in this installation", request.name)))
        }
    };
    let vendor_id = match row.vendor_id.clone() {
        Some(id) => id,
        None => {
            let native = NativeRequest {
                installation_id: call.installation.as_str(),
                product: request.product,
                name: &request.name,
                metadata: &request.metadata,
                plan: request.plan,
            };
            match state.provider.create(&owner, NewResource::Native(native), &vendor_key(&row)).await {
                Ok(resource) => {
                    state.store.provisioned(&row.id, &resource.id).await?;
                    row.status = NativeResourceStatus::Ready;
                    resource.id
                }
                Err(error @ ProviderError::Refused { .. }) => {
                    // Nothing was created: the key is free, and the row goes.
                    state.store.forget_provision(&row.id).await?;
                    return Err(vendor_failed(error));
                }
                // Unknown whether the vendor created it: the row stays for the retry to resume.
                Err(error) => return Err(vendor_failed(error)),
            }
        }
    };
    let env = state.provider.env_for(&owner, &vendor_id).await.map_err(vendor_failed)?;
    let mut resource = resource_json(state, &row);
    resource["secrets"] = Value::Array(secrets_of(&env));
    tracing::info!(configuration_id = %call.installation, resource_id = %row.id, by = call.actor(), "native resource provisioned");
    Ok((StatusCode::OK, resource))
}

/// A change to a resource as asked (Vercel's `PATCH`, or the vendor's `resources.changed`);
/// `None` keeps the value.
pub(crate) struct Asked<'a> {
    pub name: Option<&'a Value>,
    pub plan: Option<&'a Value>,
    pub metadata: Option<&'a Value>,
}

/// A change every field of which the product takes.
pub(crate) struct Checked<'a> {
    name: Option<&'a str>,
    plan: Option<&'a str>,
    metadata: Option<String>,
}

impl Checked<'_> {
    pub(crate) fn as_change(&self) -> ResourceChange<'_> {
        ResourceChange { name: self.name, metadata: self.metadata.as_deref(), billing_plan_id: self.plan }
    }
}

/// Checks a change against the product: a name of 1 to [`MAX_NAME`] characters, a resource plan of
/// the product, metadata fitting its schema. Each fault as (the caller's key, why); `keys` names
/// the name and the plan as the caller's body does (both say `metadata`).
pub(crate) fn checked_change<'a>(
    product: &'a Product,
    asked: &Asked<'a>,
    keys: [&str; 2],
) -> Result<Checked<'a>, Vec<(String, String)>> {
    let mut fields = Vec::new();
    let name =
        asked.name.map(|name| name.as_str().map(str::trim).filter(|n| !n.is_empty() && n.chars().count() <= MAX_NAME));
    if matches!(name, Some(None)) {
        fields.push((keys[0].to_owned(), format!("a name of 1 to {MAX_NAME} characters is needed")));
    }
    let plan = asked.plan.map(|id| id.as_str().and_then(|id| resource_plan(product, id)));
    if matches!(plan, Some(None)) {
        fields.push((keys[1].to_owned(), "the product has no such plan".to_owned()));
    }
    if let Some(metadata) = asked.metadata {
        fields.extend(metadata::problems(product.metadata_schema.as_ref(), metadata));
    }
    match fields.is_empty() {
        true => Ok(Checked {
            name: name.flatten(),
            plan: plan.flatten().map(|p| p.id.as_str()),
            metadata: asked.metadata.map(Value::to_string),
        }),
        false => Err(fields),
    }
}

/// A live resource of the call's installation, or 404.
async fn live_resource(state: &AppState, call: &Call, resource_id: &str) -> Result<NativeResourceRow, Refusal> {
    state
        .store
        .native_resource(&call.installation, resource_id)
        .await?
        .ok_or_else(|| Refusal::NotFound("no such resource in this installation".into()))
}

pub async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((installation_id, resource_id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let call = Call::reader(&state, &headers, &installation_id).await?;
        call.live_owner(&state).await?;
        let row = live_resource(&state, &call, &resource_id).await?;
        Ok((StatusCode::OK, resource_json(&state, &row)))
    };
    answer(result.await)
}

pub async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((installation_id, resource_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let call = Call::admin(&state, &headers, &installation_id).await?;
        call.live_owner(&state).await?;
        let row = live_resource(&state, &call, &resource_id).await?;
        let body = json_body(&body)?;
        let Some(product) = product(&state, &row.product_id) else {
            return Err(Refusal::Conflict("this resource's product is no longer offered".into()));
        };
        let asked = Asked { name: body.get("name"), plan: body.get("billingPlanId"), metadata: body.get("metadata") };
        let checked = checked_change(product, &asked, ["name", "billingPlanId"])
            .map_err(|fields| invalid("the resource cannot be changed", fields))?;
        if !state.store.change_native_resource(&row.id, checked.as_change()).await? {
            return Err(Refusal::Conflict("another resource of this installation has that name".into()));
        }
        let row = live_resource(&state, &call, &resource_id).await?;
        Ok((StatusCode::OK, resource_json(&state, &row)))
    };
    answer(result.await)
}

pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((installation_id, resource_id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let call = Call::admin(&state, &headers, &installation_id).await?;
        let owner = call.live_owner(&state).await?;
        let mut tx = state.store.begin().await?;
        // The user deleted it at Vercel: what Tether created for them is released, whatever the
        // uninstall policy (that policy is for what nobody asked to delete).
        let deleted = outbox::native_resource_deleted(&mut tx, &call.installation, &resource_id, &owner, true).await?;
        if deleted.is_none() {
            return Err(Refusal::NotFound("no such resource in this installation".into()));
        }
        tx.commit().await?;
        tracing::info!(configuration_id = %call.installation, resource_id, by = call.actor(), "native resource deleted");
        Ok((StatusCode::NO_CONTENT, Value::Null))
    };
    answer(result.await)
}

/// Vercel's rotation, answered synchronously: the vendor's `begin` gives the new secrets beside
/// the old, and its `finish` (the old ones stop working) is queued for when Vercel's
/// `delayOldSecretsExpirationHours` has passed (at once without one).
pub async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((installation_id, resource_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let call = Call::admin(&state, &headers, &installation_id).await?;
        let owner = call.live_owner(&state).await?;
        let row = live_resource(&state, &call, &resource_id).await?;
        let body = json_body(&body)?;
        let hours = match body.get("delayOldSecretsExpirationHours") {
            None | Some(Value::Null) => 0.0,
            Some(hours) => hours.as_f64().filter(|h| (0.0..=MAX_DELAY_HOURS).contains(h)).ok_or_else(|| {
                Refusal::field(
                    "delayOldSecretsExpirationHours",
                    format!("must be a number of hours from 0 to {MAX_DELAY_HOURS}"),
                )
            })?,
        };
        let Some(vendor_id) = row.vendor_id.as_deref() else {
            return Err(Refusal::Conflict("the resource is still being provisioned".into()));
        };
        let env = state.provider.begin_rotation(&owner, vendor_id).await.map_err(vendor_failed)?;
        let at = crate::store::now_ms() + (hours * 3_600_000.0) as i64;
        let job = outbox::job_id("finish", &[&owner, vendor_id, &at.to_string()]);
        let body = json!({"resource_id": vendor_id}).to_string();
        let mut tx = state.store.begin().await?;
        provider_jobs::enqueue_at(&mut tx, &job, JobKind::FinishRotation, &owner, &body, at).await?;
        tx.commit().await?;
        tracing::info!(configuration_id = %call.installation, resource_id, hours, by = call.actor(), "native resource rotated");
        Ok((StatusCode::OK, json!({"sync": true, "secrets": secrets_of(&env)})))
    };
    answer(result.await)
}
