//! What the simulator's Marketplace keeps (see `marketplace` for what it does with it): native
//! installations, their resources, the Partner calls made and the fault the next one carries;
//! the single sign-on codes waiting for their exchange.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeInstallation {
    pub id: String,
    pub account_id: String,
    pub user_id: String,
    /// `active`, or `removed` after the uninstall.
    pub status: String,
    #[serde(skip)]
    pub access_token: String,
    /// What the integration last said with `PATCH /v1/installations/{id}`; `None` cleared.
    pub notification: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeResource {
    pub installation_id: String,
    /// The partner's id, as the provision answered it.
    pub id: String,
    pub product_id: String,
    pub name: String,
    pub status: String,
    pub plan_id: String,
    #[serde(skip)]
    pub secrets: Vec<Secret>,
    /// The secrets' names, shown on the dashboard (values never are).
    pub secret_names: Vec<String>,
    pub projects: Vec<String>,
    /// The integration's notification for it (`PATCH .../resources/{rid}`), shown as Vercel
    /// shows it: level, title, message, and a link (through single sign-on for `sso:`).
    pub notification: Option<serde_json::Value>,
    /// Brought in by the integration (`PUT .../resources/{rid}`), not made by Vercel's form.
    pub imported: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub environment_overrides: BTreeMap<String, String>,
}

/// A fault the next Partner call carries on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerFault {
    Expired,
    WrongAudience,
    WrongIssuer,
    UnknownKey,
    ReplayedKey,
}

/// One Partner call as the simulator made it, for the dashboard and tests.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCall {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// Each attempt's status; 0 when no answer came.
    pub statuses: Vec<u16>,
    pub fault: Option<PartnerFault>,
}

/// A fault the next SSO code carries on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoFault {
    Expired,
    WrongAudience,
    UnknownKey,
    AccessTokenType,
    AnotherClient,
}

/// A code handed to the browser, waiting for its exchange.
#[derive(Clone, Debug)]
pub(crate) struct SsoCode {
    pub installation_id: String,
    pub user_id: String,
    pub role: String,
    pub client_id: String,
    pub issued_ms: i64,
    pub used: bool,
    pub fault: Option<SsoFault>,
}

#[derive(Default)]
pub(crate) struct Market {
    pub installations: Vec<NativeInstallation>,
    pub resources: Vec<NativeResource>,
    pub calls: Vec<PartnerCall>,
    pub fault: Option<PartnerFault>,
    pub last_key: Option<String>,
    pub sso_codes: std::collections::HashMap<String, SsoCode>,
    pub sso_fault: Option<SsoFault>,
    pub sso_asked: usize,
    pub sso_answered: usize,
    /// Members whose role Vercel changed, by (installation, member): `ADMIN`, `USER` or `NONE`.
    pub members: std::collections::HashMap<(String, String), String>,
}
