//! The vendor's system, behind a trait: list an account's resources, create one for a project,
//! give the env vars a project needs, rotate credentials, release a resource. Two
//! implementations: the built-in one keeps resources in Tether's database; the HTTP one calls
//! the vendor's own system over the contract in `docs/provider-contract.yaml`.

pub mod builtin;
pub mod conformance;
pub mod http;
pub mod jobs;
pub mod outbox;
pub mod ticket;

use std::{future::Future, pin::Pin};

pub use builtin::BuiltinProvider;
pub use http::HttpProvider;

use crate::settings::{
    products::{Plan, Product},
    Target,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: String,
    pub name: String,
    pub region: String,
    pub url: String,
    /// A rotation began and did not finish: old and new credentials both work.
    pub rotating: bool,
}

/// One env var value for a project; `secret` decides its Vercel type.
#[derive(Clone)]
pub struct EnvValue {
    pub key: String,
    pub value: String,
    pub secret: bool,
    pub targets: Vec<Target>,
    /// What it is for, shown beside it at Vercel.
    pub comment: String,
}

/// The Vercel project a resource is created for.
#[derive(Clone, Copy)]
pub struct ProjectRef<'a> {
    pub installation_id: &'a str,
    pub id: &'a str,
    pub name: &'a str,
}

impl ProjectRef<'_> {
    /// The same installation and project always give the same key, so a retry, or Connect
    /// pressed again after a failure, never makes a second resource.
    pub fn idempotency_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{}", self.installation_id, self.id).as_bytes());
        format!("tether-{}", hex::encode(&digest[..16]))
    }
}

/// What a new resource is for.
#[derive(Clone, Copy)]
pub enum NewResource<'a> {
    /// The popup: a resource for one Vercel project.
    Project(ProjectRef<'a>),
    /// Vercel's create form (a native integration): not tied to any project.
    Native(NativeRequest<'a>),
}

/// A resource Vercel's user asked for in Vercel's create form.
#[derive(Clone, Copy)]
pub struct NativeRequest<'a> {
    pub installation_id: &'a str,
    pub product: &'a Product,
    /// The name the user gave it.
    pub name: &'a str,
    /// Checked against the product's metadata schema.
    pub metadata: &'a serde_json::Value,
    pub plan: &'a Plan,
}

impl NewResource<'_> {
    pub fn installation_id(&self) -> &str {
        match self {
            NewResource::Project(project) => project.installation_id,
            NewResource::Native(request) => request.installation_id,
        }
    }
}

/// Something that happened at Vercel the vendor may want to react to. Sent at least once; `id`
/// is the same on every attempt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Notice {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub installation_id: String,
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub project_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to_account: Option<String>,
    /// For a notice about a project's link: the resource it was linked to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resource_id: Option<String>,
    /// With `resource_id`: `created` (Tether created it for this installation) or `connected`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub origin: Option<String>,
    /// For `member.changed` (native integrations): the Vercel member, and their role now
    /// (`ADMIN`, `USER`, or `NONE` when they left).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub member_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    /// For `member.changed`: the member's name and email as Vercel answers them (absent when
    /// they left the team).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub member_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub member_email: Option<String>,
    /// For `installation.created` (native integrations): the team as Vercel's account answer
    /// describes it: `{name, url?, contact: {email, name?}}`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub team: Option<serde_json::Value>,
}

/// The contract's resource id pattern, `^[A-Za-z0-9_.:-]{1,64}$`: what Tether stores, puts in a
/// page and accepts back from a form.
pub fn valid_resource_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("resource `{0}` does not exist for this account")]
    UnknownResource(String),
    /// The vendor answered no, in words meant for the user (a plan limit, say).
    #[error("the vendor refused ({code}): {message}")]
    Refused { code: String, message: String },
    /// The vendor did not answer in time, or answered 5xx: nothing was done.
    #[error("the vendor is unavailable: {0}")]
    Unavailable(String),
    /// The vendor refused Tether's signature (401 or 403, or `bad_signature`): the shared secrets
    /// or the clocks of the two sides disagree. Nothing was done; the operator must fix it.
    #[error("the vendor refused Tether's signature ({status}) {said}")]
    SignatureRefused { status: u16, said: String },
    #[error("the provider failed: {0}")]
    Failed(String),
}

/// No answer from the vendor's system: nothing was done.
impl From<reqwest::Error> for ProviderError {
    fn from(error: reqwest::Error) -> Self {
        ProviderError::Unavailable(if error.is_timeout() { "no answer in time".into() } else { error.to_string() })
    }
}

/// Tether's own side of a call could not be built (a URL, a body): nothing was sent.
impl From<serde_json::Error> for ProviderError {
    fn from(error: serde_json::Error) -> Self {
        ProviderError::Failed(error.to_string())
    }
}

impl From<url::ParseError> for ProviderError {
    fn from(error: url::ParseError) -> Self {
        ProviderError::Failed(error.to_string())
    }
}

/// The built-in provider's own storage and sealing failures: nothing the user can act on.
impl From<crate::store::StoreError> for ProviderError {
    fn from(error: crate::store::StoreError) -> Self {
        ProviderError::Failed(error.to_string())
    }
}

impl From<crate::seal::SealError> for ProviderError {
    fn from(error: crate::seal::SealError) -> Self {
        ProviderError::Failed(error.to_string())
    }
}

pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn resources<'a>(&'a self, owner: &'a str) -> ProviderFuture<'a, Vec<Resource>>;
    /// Creates a resource for a project or Vercel's create form; the same `idempotency_key`
    /// answers the same resource.
    fn create<'a>(
        &'a self,
        owner: &'a str,
        purpose: NewResource<'a>,
        idempotency_key: &'a str,
    ) -> ProviderFuture<'a, Resource>;
    /// The env vars a project needs; during a rotation, with the new credentials.
    fn env_for<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>>;
    /// Issues new credentials beside the old ones, which keep working, and returns the env vars
    /// with the new ones. A rotation that did not finish is resumed with the same new credentials.
    fn begin_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, Vec<EnvValue>>;
    /// Every project has the new credentials: the old ones stop working.
    fn finish_rotation<'a>(&'a self, owner: &'a str, resource_id: &'a str) -> ProviderFuture<'a, ()>;
    /// No installation uses the resource Tether created for `installation_id` any more.
    /// Idempotent: a resource already gone is fine.
    fn release<'a>(&'a self, owner: &'a str, resource_id: &'a str, installation_id: &'a str) -> ProviderFuture<'a, ()>;
    /// A lifecycle notice; the vendor may drop a repeat by its id.
    fn notify<'a>(&'a self, notice: &'a Notice) -> ProviderFuture<'a, ()>;
}
