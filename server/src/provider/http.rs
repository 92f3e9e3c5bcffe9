//! The vendor's own system, over the contract in `docs/provider-contract.yaml`: signed JSON
//! POSTs, each bounded in time, retried with backoff (every call is idempotent by the contract),
//! and the vendor's refusals kept in its own words for the user.

use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Value};
use url::Url;

use super::{EnvValue, NewResource, Notice, Provider, ProviderError, ProviderFuture, Resource};
use crate::{
    settings::{default_env_comment, Target, MAX_ENV_COMMENT_CHARS},
    signing::{self, SigningKey},
};

/// One attempt may take this long: the contract's "answer within 5 seconds".
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One call, its retries included, never takes longer: a retry starts only when a whole attempt
/// still fits. So a timed-out attempt is never retried, and a page waits on one call at most this.
pub const CALL_BUDGET: Duration = Duration::from_secs(10);
/// Attempts of one call, at most.
pub const ATTEMPTS: u32 = 3;
/// An answer larger than this is not one the contract allows.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

pub struct HttpProvider {
    name: String,
    base: Url,
    keys: Vec<SigningKey>,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct WireResource {
    id: String,
    name: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    rotating: bool,
}

#[derive(Deserialize)]
struct Resources {
    resources: Vec<WireResource>,
}

#[derive(Deserialize)]
struct WireEnv {
    key: String,
    value: String,
    #[serde(default)]
    secret: bool,
    #[serde(default = "crate::settings::all_targets")]
    targets: Vec<Target>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct EnvAnswer {
    env: Vec<WireEnv>,
}

impl From<WireResource> for Resource {
    fn from(r: WireResource) -> Self {
        Resource { id: r.id, name: r.name, region: r.region, url: r.url, rotating: r.rotating }
    }
}

fn env_values(vendor: &str, answer: EnvAnswer) -> Result<Vec<EnvValue>, ProviderError> {
    answer
        .env
        .into_iter()
        .map(|v| {
            let long_comment = v.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_ENV_COMMENT_CHARS);
            if !crate::settings::valid_env_key(&v.key) || v.targets.is_empty() || long_comment {
                return Err(ProviderError::Failed(format!("the vendor answered an invalid env var `{}`", v.key)));
            }
            let comment = v.comment.unwrap_or_else(|| default_env_comment(vendor));
            Ok(EnvValue { key: v.key, value: v.value, secret: v.secret, targets: v.targets, comment })
        })
        .collect()
}

/// A resource Tether may store and put in a page: an id the contract allows, a bounded name.
fn valid_resource(resource: &WireResource) -> bool {
    super::valid_resource_id(&resource.id) && resource.name.len() <= 200
}

impl HttpProvider {
    pub fn new(name: String, base: Url, keys: Vec<SigningKey>) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(ATTEMPT_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self { name, base, keys, client }
    }

    fn url(&self, path: &str) -> Result<Url, ProviderError> {
        let base = self.base.as_str().trim_end_matches('/');
        Ok(Url::parse(&format!("{base}{path}"))?)
    }

    /// One call whose answer is JSON of this shape.
    async fn call<T: DeserializeOwned>(
        &self,
        path: &'static str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Result<T, ProviderError> {
        let answer = self.send(path, body, idempotency_key).await?;
        serde_json::from_slice(&answer).map_err(|e| {
            ProviderError::Failed(format!("the vendor's answer to {path} does not follow the contract: {e}"))
        })
    }

    /// One call, retried on transport failures and 5xx while the retry window lasts; the answer's
    /// bytes.
    async fn send(
        &self,
        path: &'static str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, ProviderError> {
        let started = Instant::now();
        let sent = self.send_with_retries(path, body, idempotency_key).await;
        let outcome = match &sent {
            Ok(_) => "ok",
            Err(ProviderError::Unavailable(_)) => "unavailable",
            Err(ProviderError::UnknownResource(_)) => "unknown_resource",
            Err(ProviderError::Refused { .. }) => "refused",
            Err(ProviderError::SignatureRefused { .. }) => "signature_refused",
            Err(_) => "failed",
        };
        crate::telemetry::provider_call(path, outcome, started.elapsed());
        sent
    }

    /// Every call is idempotent by the contract, so a refused connection or a 5xx is retried
    /// (with backoff) while a whole attempt still fits in [`CALL_BUDGET`]. Every attempt of one
    /// call carries the same `webhook-id`, as Standard Webhooks intends for a retried message.
    async fn send_with_retries(
        &self,
        path: &str,
        body: Value,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, ProviderError> {
        let url = self.url(path)?;
        let body = serde_json::to_vec(&body)?;
        let message_id = signing::new_message_id();
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(&url, &message_id, &body, idempotency_key).await {
                Err(ProviderError::Unavailable(why))
                    if attempt < ATTEMPTS && started.elapsed() + backoff(attempt) + ATTEMPT_TIMEOUT <= CALL_BUDGET =>
                {
                    tracing::info!(path, attempt, %why, "vendor unavailable; retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(ProviderError::Unavailable(why)) => {
                    tracing::warn!(path, attempts = attempt, %why, "vendor unavailable");
                    return Err(ProviderError::Unavailable(why));
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        message_id: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, ProviderError> {
        let signed = signing::sign(&self.keys, message_id, crate::store::now_ms() / 1000, body);
        let mut request = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &signed.id)
            .header("webhook-timestamp", signed.timestamp.to_string())
            .header("webhook-signature", &signed.signature)
            .header("tether-key-id", &signed.key_ids)
            .body(body.to_vec());
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let mut response = request.send().await?;
        let status = response.status();
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ProviderError::Failed(format!("the vendor's answer is over {MAX_ANSWER_BYTES} bytes")));
            }
            answer.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(answer);
        }
        if status.is_server_error() {
            return Err(ProviderError::Unavailable(format!("the vendor answered {status}")));
        }
        let refusal = serde_json::from_slice::<ErrorBody>(&answer).ok();
        // The vendor refused Tether's signature: the two sides' secrets (or clocks) disagree.
        // That is the operator's to fix, never the user's; the vendor's words go to the log.
        let unauthorized = matches!(status, reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN);
        if unauthorized || refusal.as_ref().is_some_and(|r| r.error.code == "bad_signature") {
            let said = refusal.map(|r| format!("{}: {}", r.error.code, r.error.message)).unwrap_or_default();
            return Err(ProviderError::SignatureRefused { status: status.as_u16(), said });
        }
        match refusal {
            Some(body) if status == reqwest::StatusCode::NOT_FOUND && body.error.code == "unknown_resource" => {
                Err(ProviderError::UnknownResource(body.error.message))
            }
            Some(body) if status.is_client_error() => {
                Err(ProviderError::Refused { code: body.error.code, message: body.error.message })
            }
            _ => Err(ProviderError::Failed(format!("the vendor answered {status} outside the contract"))),
        }
    }
}

/// The pause before retry `attempt + 1`: 150 ms, then 450 ms, with up to 100 ms of jitter.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(150 * 3u64.pow(attempt - 1) + rand::random::<u64>() % 100)
}

impl Provider for HttpProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn resources<'a>(&'a self, owner: &'a str) -> ProviderFuture<'a, Vec<Resource>> {
        Box::pin(async move {
            let answer: Resources =
                self.call("/resources/list", json!({"action": "resources.list", "account": owner}), None).await?;
            Ok(answer.resources.into_iter().filter(valid_resource).map(Resource::from).collect())
        })
    }

    fn create<'a>(
        &'a self,
        owner: &'a str,
        purpose: NewResource<'a>,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Resource> {
        Box::pin(async move {
            let mut body = json!({
                "action": "resources.create",
                "account": owner,
                "installation_id": purpose.installation_id(),
            });
            match purpose {
                NewResource::Project(project) => body["project"] = json!({"id": project.id, "name": project.name}),
                NewResource::Native(request) => {
                    body["product"] = json!({"id": request.product.slug, "name": request.product.name});
                    body["name"] = json!(request.name);
                    body["metadata"] = request.metadata.clone();
                    body["plan"] = json!({"id": request.plan.id, "name": request.plan.name});
                }
            }
            let resource: WireResource = self.call("/resources/create", body, Some(idempotency_key)).await?;
            if !valid_resource(&resource) {
                return Err(ProviderError::Failed("the vendor answered a resource id outside the contract".into()));
            }
            Ok(resource.into())
        })
    }

    fn env_for<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>> {
        Box::pin(async move {
            let body = json!({"action": "resources.env", "account": owner, "resource_id": resource_id});
            env_values(&self.name, self.call("/resources/env", body, None).await?)
        })
    }

    fn begin_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>> {
        Box::pin(async move {
            let body =
                json!({"action": "resources.rotate", "account": owner, "resource_id": resource_id, "phase": "begin"});
            env_values(&self.name, self.call("/resources/rotate", body, None).await?)
        })
    }

    fn finish_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let body =
                json!({"action": "resources.rotate", "account": owner, "resource_id": resource_id, "phase": "finish"});
            self.send("/resources/rotate", body, None).await.map(drop)
        })
    }

    fn release<'a>(&'a self, owner: &'a str, resource_id: &'a str, installation_id: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            // Only ever a resource Tether created: the outbox asks for nothing else.
            let body = json!({
                "action": "resources.release", "account": owner, "resource_id": resource_id,
                "installation_id": installation_id, "origin": "created",
            });
            match self.send("/resources/release", body, None).await {
                Ok(_) | Err(ProviderError::UnknownResource(_)) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }

    fn notify<'a>(&'a self, notice: &'a Notice) -> ProviderFuture<'a, ()> {
        Box::pin(async move {
            let mut body = serde_json::to_value(notice)?;
            body["action"] = json!("notices");
            self.send("/notices", body, None).await.map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(comment: Option<String>) -> EnvAnswer {
        let var = WireEnv {
            key: "K".into(),
            value: "v".into(),
            secret: false,
            targets: crate::settings::all_targets(),
            comment,
        };
        EnvAnswer { env: vec![var] }
    }

    #[test]
    fn a_vendors_comment_is_kept_a_missing_one_named_and_a_long_one_refused() {
        let kept = env_values("Ref DB", answer(Some("What K is for.".into()))).unwrap();
        assert_eq!(kept[0].comment, "What K is for.");
        let named = env_values("Ref DB", answer(None)).unwrap();
        assert_eq!(named[0].comment, "Set by the Ref DB integration for the resource connected to this project.");
        assert!(env_values("Ref DB", answer(Some("c".repeat(501)))).is_err(), "outside the contract: nothing written");
    }
}
