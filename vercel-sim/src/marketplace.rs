//! Vercel's side of a native integration (the Marketplace): Vercel installs a product by calling
//! the integration's Partner API, offers the product's plans in its create form, provisions a
//! resource, writes the resource's secrets into each project the user connects, rotates the
//! secrets, deletes the resource, uninstalls. Every call carries a token of the simulator's OIDC
//! issuer, `X-Vercel-Auth` and, on a change, an `Idempotency-Key` that a retry of a 5xx repeats.
//!
//! Strict: an answer of another shape than Vercel's reference documents is refused (the
//! dashboard and tests see why), never taken kindly.
//!
//! | call | sent | taken | source |
//! |---|---|---|---|
//! | `PUT /v1/installations/{id}` | a fresh `icfg_…`, `scopes`, `acceptedPolicies`, `credentials {access_token, token_type}`, `account {name, url, contact}`; the installer's ADMIN token | 200, 201 or 204 | native-protocol.md 1.3 |
//! | `GET /v1/products/{slug}/plans`, `GET /v1/installations/new/plans` | the `new` call before the install (its token is for the installation to come), the product's before the create form and as the form changes | 200 `{plans: [{id, name, type subscription\|prepayment, …}]}` | same, and PostHog#62819 |
//! | `POST /v1/installations/{id}/resources` | `productId, name, metadata, billingPlanId` | 200 or 201 with `id, name, status` and `secrets [{name, value, environmentOverrides?}]`, names env-var shaped | same |
//! | `POST …/resources/{rid}/secrets/rotate` | `reason`, `delayOldSecretsExpirationHours` | 200 `{sync: true, secrets}` or 202 `{sync: false}` | same |
//! | `DELETE …/resources/{rid}` | – | 200 or 204 | same |
//! | `DELETE /v1/installations/{id}` | `cascadeResourceDeletion: true`, `reason` | 200 `{finalized: bool}` or 204 | same |
//! | every call, fault `expired` / `wrong_audience` / `wrong_issuer` / `unknown_key` | the token is expired, for another integration, from another issuer, or signed by a key the JWKS lacks | expected 401 | native-protocol.md 1.2 |
//! | a provision, fault `replayed_key` | the previous provision's Idempotency-Key with another body | expected 409 `conflict` | Idempotency-Key, native-protocol.md 1.2 |
//! | every call | a 5xx or no answer is retried twice (200 ms, 400 ms) with the same Idempotency-Key | | native-protocol.md 1.2 |
//!
//! Connecting a resource to a project writes its secrets as that project's env vars (`encrypted`,
//! one variable per distinct value, an override where the secret has one) and sends
//! `integration-resource.project-connected`; disconnecting removes them and sends
//! `-disconnected`. Rotating rewrites the connected projects' values. Deleting a resource and
//! uninstalling remove what they wrote.

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;
use serde_json::{json, Value};

pub use crate::market_records::{NativeInstallation, NativeResource, PartnerCall, PartnerFault, Secret};
use crate::state::{next_env_stamp, random_id, EnvVar, Sim};

/// Why a Marketplace action did not happen: Tether's answer, or what was wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
    pub why: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (answered {} {})", self.why, self.status, self.body)
    }
}

fn refused(why: impl Into<String>) -> Refused {
    Refused { status: 0, body: Value::Null, why: why.into() }
}

/// The shape a Partner API answer must have, or why it does not.
fn expect_status(status: u16, body: &Value, allowed: &[u16], what: &str) -> Result<(), Refused> {
    match allowed.contains(&status) {
        true => Ok(()),
        false => Err(Refused { status, body: body.clone(), why: format!("{what} was not accepted") }),
    }
}

fn env_key_shaped(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(crate) fn secrets_of(body: &Value) -> Result<Vec<Secret>, Refused> {
    let shape = |why: &str| Refused { status: 200, body: body.clone(), why: format!("secrets: {why}") };
    let secrets: Vec<Secret> = serde_json::from_value(body.get("secrets").cloned().unwrap_or(Value::Null))
        .map_err(|e| shape(&format!("not a list of {{name, value, environmentOverrides?}}: {e}")))?;
    if let Some(bad) = secrets.iter().find(|s| !env_key_shaped(&s.name)) {
        return Err(shape(&format!("`{}` cannot be an environment variable's name", bad.name)));
    }
    let targets = ["production", "preview", "development"];
    if secrets.iter().any(|s| s.environment_overrides.keys().any(|t| !targets.contains(&t.as_str()))) {
        return Err(shape("an override names an environment Vercel does not have"));
    }
    Ok(secrets)
}

fn plans_fit(body: &Value) -> Result<(), Refused> {
    let plans = body.get("plans").and_then(Value::as_array);
    let fits = plans.is_some_and(|plans| {
        plans.iter().all(|p| {
            p["id"].is_string()
                && p["name"].is_string()
                && matches!(p["type"].as_str(), Some("subscription" | "prepayment"))
        })
    });
    match fits {
        true => Ok(()),
        false => {
            Err(Refused { status: 200, body: body.clone(), why: "plans: not `{plans: [{id, name, type}]}`".into() })
        }
    }
}

impl Sim {
    fn base_url(&self) -> Result<String, Refused> {
        self.config.base_url.clone().ok_or_else(|| refused("the simulator has no Base URL for the Partner API"))
    }

    /// The token of a call: the installer's, or one spoiled by the fault set for this call.
    fn partner_token(&self, installation_id: &str, user_id: &str, fault: Option<PartnerFault>) -> String {
        let mut claims = self.user_claims(installation_id, user_id, "ADMIN");
        let issuer = self.issuer_url();
        match fault {
            Some(PartnerFault::Expired) => claims["exp"] = json!(crate::state::now_ms() / 1000 - 3600),
            Some(PartnerFault::WrongAudience) => claims["aud"] = json!("oac_another_integration"),
            Some(PartnerFault::WrongIssuer) => claims["iss"] = json!("https://marketplace.invalid"),
            Some(PartnerFault::UnknownKey) => return self.oidc().mint_with_kid(&issuer, claims, "sim-oidc-unknown"),
            _ => {}
        }
        self.oidc().mint(&issuer, claims)
    }

    /// One Partner call, retried on a 5xx or no answer with the same Idempotency-Key.
    async fn partner_call(
        &self,
        method: reqwest::Method,
        path: &str,
        installation_id: &str,
        user_id: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), Refused> {
        let url = format!("{}{path}", self.base_url()?);
        let fault = self.lock().market.fault.take();
        let changes = method != reqwest::Method::GET;
        let key = match (changes, fault) {
            (false, _) => None,
            (true, Some(PartnerFault::ReplayedKey)) => self.lock().market.last_key.clone(),
            (true, _) => Some(random_id("idem_", 20)),
        };
        if changes && key.is_some() && fault != Some(PartnerFault::ReplayedKey) {
            self.lock().market.last_key = key.clone();
        }
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
        let mut statuses = Vec::new();
        let mut answer = (0, Value::Null);
        for attempt in 0..3u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            let mut request = client
                .request(method.clone(), &url)
                .bearer_auth(self.partner_token(installation_id, user_id, fault))
                .header("x-vercel-auth", "user");
            if let Some(key) = &key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
                }
                Err(_) => (0, Value::Null),
            };
            statuses.push(answer.0);
            if answer.0 != 0 && answer.0 < 500 {
                break;
            }
        }
        let call =
            PartnerCall { method: method.to_string(), path: path.to_owned(), idempotency_key: key, statuses, fault };
        self.lock().market.calls.push(call);
        Ok(answer)
    }

    /// Sets a fault the next Partner call carries (the dashboard's fault buttons).
    pub fn set_partner_fault(&self, fault: Option<PartnerFault>) {
        self.lock().market.fault = fault;
    }

    /// The Partner calls made so far.
    pub fn partner_calls(&self) -> Vec<PartnerCall> {
        self.lock().market.calls.clone()
    }

    pub fn native_installations(&self) -> Vec<NativeInstallation> {
        self.lock().market.installations.clone()
    }

    pub fn native_resources(&self) -> Vec<NativeResource> {
        self.lock().market.resources.clone()
    }

    fn installer_of(&self, installation_id: &str) -> Result<NativeInstallation, Refused> {
        let market = &self.lock().market;
        let found = market.installations.iter().find(|i| i.id == installation_id && i.status == "active");
        found.cloned().ok_or_else(|| refused("no such native installation"))
    }

    /// The plans Vercel's create form offers for a product; `installation_id` `None` asks as
    /// Vercel does before the installation exists.
    pub async fn native_plans(&self, product: &str, installation_id: Option<&str>) -> Result<Value, Refused> {
        let (installation, user) = match installation_id {
            Some(id) => {
                let installation = self.installer_of(id)?;
                (installation.id, installation.user_id)
            }
            None => (random_id("icfg_", 24), "user_sim_alice".to_owned()),
        };
        let path = format!("/v1/products/{product}/plans");
        let (status, body) = self.partner_call(reqwest::Method::GET, &path, &installation, &user, None).await?;
        expect_status(status, &body, &[200], "the plans")?;
        plans_fit(&body)?;
        if installation_id.is_none() {
            let (status, early) = self
                .partner_call(reqwest::Method::GET, "/v1/installations/new/plans", &installation, &user, None)
                .await?;
            expect_status(status, &early, &[200], "the plans of an installation to come")?;
            plans_fit(&early)?;
        }
        Ok(body)
    }

    /// Installs the integration natively for an account: a fresh installation id, and the token
    /// Tether will call Vercel with.
    pub async fn native_install(&self, account_id: &str) -> Result<String, Refused> {
        let account = self.lock().accounts.iter().find(|a| a.id == account_id).cloned();
        let account = account.ok_or_else(|| refused("no such account"))?;
        let id = random_id("icfg_", 24);
        let token = random_id("vercel_native_", 24);
        let body = json!({
            "scopes": ["read:resource", "read-write:resource"],
            "acceptedPolicies": {"toc": "2026-12-01T00:00:00Z", "privacy": "2026-12-01T00:00:00Z"},
            "credentials": {"access_token": token, "token_type": "Bearer"},
            "account": {
                "name": account.name, "url": format!("https://vercel.com/{}", account.slug),
                "contact": {"email": account.email.clone().unwrap_or_else(|| format!("{}@sim.example", account.slug)), "name": account.name},
            },
        });
        // Vercel's install dialog shows the installation's plans before the installation exists.
        let (status, plans) = self
            .partner_call(reqwest::Method::GET, "/v1/installations/new/plans", &id, &account.installer, None)
            .await?;
        expect_status(status, &plans, &[200], "the plans of an installation to come")?;
        plans_fit(&plans)?;
        let path = format!("/v1/installations/{id}");
        let (status, answer) =
            self.partner_call(reqwest::Method::PUT, &path, &id, &account.installer, Some(body)).await?;
        expect_status(status, &answer, &[200, 201, 204], "the installation")?;
        self.lock().market.installations.push(NativeInstallation {
            id: id.clone(),
            account_id: account.id,
            user_id: account.installer,
            status: "active".into(),
            access_token: token,
            notification: None,
        });
        Ok(id)
    }

    /// Vercel's create form, submitted.
    pub async fn native_provision(
        &self,
        installation_id: &str,
        product: &str,
        name: &str,
        metadata: Value,
        plan: &str,
    ) -> Result<NativeResource, Refused> {
        let installation = self.installer_of(installation_id)?;
        let body = json!({"productId": product, "name": name, "metadata": metadata, "billingPlanId": plan});
        let path = format!("/v1/installations/{installation_id}/resources");
        let (status, answer) =
            self.partner_call(reqwest::Method::POST, &path, installation_id, &installation.user_id, Some(body)).await?;
        expect_status(status, &answer, &[200, 201], "the provision")?;
        let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
        let (Some(id), Some(name), Some(status)) = (text("id"), text("name"), text("status")) else {
            return Err(Refused { status, body: answer, why: "the resource lacks id, name or status".into() });
        };
        let secrets = secrets_of(&answer)?;
        let resource = NativeResource {
            installation_id: installation_id.to_owned(),
            product_id: product.to_owned(),
            plan_id: plan.to_owned(),
            secret_names: secrets.iter().map(|s| s.name.clone()).collect(),
            secrets,
            projects: Vec::new(),
            id,
            name,
            status,
            notification: None,
            imported: false,
        };
        let mut inner = self.lock();
        // A retried provision answers the resource Vercel already has.
        inner.market.resources.retain(|r| !(r.installation_id == installation_id && r.id == resource.id));
        inner.market.resources.push(resource.clone());
        Ok(resource)
    }

    /// The user connects a resource to a project: Vercel writes the secrets there and tells the
    /// integration.
    pub fn native_connect(&self, installation_id: &str, resource_id: &str, project_id: &str) -> Result<(), Refused> {
        let project = self.lock().projects.iter().find(|p| p.id == project_id).cloned();
        let project = project.ok_or_else(|| refused("no such project"))?;
        {
            let mut inner = self.lock();
            let resource =
                inner.market.resources.iter_mut().find(|r| r.installation_id == installation_id && r.id == resource_id);
            let resource = resource.ok_or_else(|| refused("no such resource"))?;
            if !resource.projects.contains(&project.id) {
                resource.projects.push(project.id.clone());
            }
            let secrets = resource.secrets.clone();
            write_secrets(&mut inner.env, installation_id, &project.id, &secrets);
        }
        self.emit(
            "integration-resource.project-connected",
            json!({
                "configuration": {"id": installation_id}, "installationId": installation_id, "resourceId": resource_id,
                "project": {"id": project.id, "name": project.name}, "projectId": project.id,
                "targets": ["production", "preview", "development"],
            }),
        );
        Ok(())
    }

    /// The user disconnects a resource from a project: its secrets leave the project.
    pub fn native_disconnect(&self, installation_id: &str, resource_id: &str, project_id: &str) -> Result<(), Refused> {
        {
            let mut inner = self.lock();
            let resource =
                inner.market.resources.iter_mut().find(|r| r.installation_id == installation_id && r.id == resource_id);
            let resource = resource.ok_or_else(|| refused("no such resource"))?;
            resource.projects.retain(|p| p != project_id);
            let names = resource.secret_names.clone();
            remove_secrets(&mut inner.env, installation_id, project_id, &names);
        }
        self.emit(
            "integration-resource.project-disconnected",
            json!({
                "configuration": {"id": installation_id}, "installationId": installation_id, "resourceId": resource_id,
                "project": {"id": project_id}, "projectId": project_id,
                "targets": ["production", "preview", "development"],
            }),
        );
        Ok(())
    }

    /// Rotates a resource's secrets; a synchronous answer's secrets replace the connected
    /// projects' values at once.
    pub async fn native_rotate(
        &self,
        installation_id: &str,
        resource_id: &str,
        delay_hours: f64,
    ) -> Result<bool, Refused> {
        let installation = self.installer_of(installation_id)?;
        let path = format!("/v1/installations/{installation_id}/resources/{resource_id}/secrets/rotate");
        let body =
            json!({"reason": "rotated from the simulator's dashboard", "delayOldSecretsExpirationHours": delay_hours});
        let (status, answer) =
            self.partner_call(reqwest::Method::POST, &path, installation_id, &installation.user_id, Some(body)).await?;
        match (status, answer.get("sync").and_then(Value::as_bool)) {
            (202, Some(false)) => Ok(false),
            (200, Some(true)) => {
                let secrets = secrets_of(&answer)?;
                let mut inner = self.lock();
                let resource = inner
                    .market
                    .resources
                    .iter_mut()
                    .find(|r| r.installation_id == installation_id && r.id == resource_id);
                let resource = resource.ok_or_else(|| refused("no such resource"))?;
                resource.secrets = secrets.clone();
                let (names, projects) = (resource.secret_names.clone(), resource.projects.clone());
                for project in projects {
                    remove_secrets(&mut inner.env, installation_id, &project, &names);
                    write_secrets(&mut inner.env, installation_id, &project, &secrets);
                }
                Ok(true)
            }
            _ => Err(Refused {
                status,
                body: answer,
                why: "the rotation is neither `{sync:true, secrets}` nor 202 `{sync:false}`".into(),
            }),
        }
    }

    /// Deletes a resource: Vercel removes its secrets from every connected project.
    pub async fn native_delete(&self, installation_id: &str, resource_id: &str) -> Result<(), Refused> {
        let installation = self.installer_of(installation_id)?;
        let path = format!("/v1/installations/{installation_id}/resources/{resource_id}");
        let (status, answer) =
            self.partner_call(reqwest::Method::DELETE, &path, installation_id, &installation.user_id, None).await?;
        expect_status(status, &answer, &[200, 204], "the deletion")?;
        self.forget_resource(installation_id, resource_id);
        Ok(())
    }

    /// Vercel reads a resource again after the integration's `resource.updated` event: the
    /// Partner API's `GET`, its answer kept (name, status, plan, notification).
    pub(crate) async fn native_reread(&self, installation_id: &str, resource_id: &str) -> Result<(), Refused> {
        let installation = self.installer_of(installation_id)?;
        let path = format!("/v1/installations/{installation_id}/resources/{resource_id}");
        let (status, answer) =
            self.partner_call(reqwest::Method::GET, &path, installation_id, &installation.user_id, None).await?;
        expect_status(status, &answer, &[200], "the resource read again")?;
        let mut inner = self.lock();
        let Some(resource) =
            inner.market.resources.iter_mut().find(|r| r.installation_id == installation_id && r.id == resource_id)
        else {
            return Ok(());
        };
        if let Some(name) = answer["name"].as_str() {
            resource.name = name.to_owned();
        }
        if let Some(status) = answer["status"].as_str() {
            resource.status = status.to_owned();
        }
        if let Some(plan) = answer["billingPlan"]["id"].as_str() {
            resource.plan_id = plan.to_owned();
        }
        resource.notification = answer.get("notification").filter(|n| n.is_object()).cloned();
        Ok(())
    }

    /// A resource leaves the installation, and its secrets every project it was connected to.
    /// Whether it was there.
    pub(crate) fn forget_resource(&self, installation_id: &str, resource_id: &str) -> bool {
        let mut inner = self.lock();
        let gone: Vec<NativeResource> = inner
            .market
            .resources
            .iter()
            .filter(|r| r.installation_id == installation_id && r.id == resource_id)
            .cloned()
            .collect();
        inner.market.resources.retain(|r| !(r.installation_id == installation_id && r.id == resource_id));
        for resource in &gone {
            for project in &resource.projects {
                remove_secrets(&mut inner.env, installation_id, project, &resource.secret_names);
            }
        }
        !gone.is_empty()
    }

    /// Uninstalls: every resource goes with the installation.
    pub async fn native_uninstall(&self, installation_id: &str) -> Result<bool, Refused> {
        let installation = self.installer_of(installation_id)?;
        let path = format!("/v1/installations/{installation_id}");
        let body = json!({"cascadeResourceDeletion": true, "reason": "uninstalled from the simulator's dashboard"});
        let (status, answer) = self
            .partner_call(reqwest::Method::DELETE, &path, installation_id, &installation.user_id, Some(body))
            .await?;
        let finalized = match (status, answer.get("finalized").and_then(Value::as_bool)) {
            (204, _) => false,
            (200, Some(finalized)) => finalized,
            _ => {
                return Err(Refused {
                    status,
                    body: answer,
                    why: "the uninstall is neither `{finalized}` nor 204".into(),
                })
            }
        };
        let mut inner = self.lock();
        if let Some(found) = inner.market.installations.iter_mut().find(|i| i.id == installation_id) {
            found.status = "removed".into();
        }
        inner.market.resources.retain(|r| r.installation_id != installation_id);
        for vars in inner.env.values_mut() {
            vars.retain(|v| v.configuration_id.as_deref() != Some(installation_id));
        }
        Ok(finalized)
    }
}

/// A secret's value per environment: its value, or its override there.
fn per_target(secret: &Secret) -> BTreeMap<String, Vec<String>> {
    let mut by_value: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for target in ["production", "preview", "development"] {
        let value = secret.environment_overrides.get(target).unwrap_or(&secret.value);
        by_value.entry(value.clone()).or_default().push(target.to_owned());
    }
    by_value
}

pub(crate) fn write_secrets(
    env: &mut std::collections::HashMap<String, Vec<EnvVar>>,
    installation_id: &str,
    project_id: &str,
    secrets: &[Secret],
) {
    let vars = env.entry(project_id.to_owned()).or_default();
    for secret in secrets {
        for (value, target) in per_target(secret) {
            let now = next_env_stamp(vars);
            vars.push(EnvVar {
                id: random_id("env_", 16),
                key: secret.name.clone(),
                value,
                kind: "encrypted".into(),
                target,
                configuration_id: Some(installation_id.to_owned()),
                comment: Some("Written by Vercel for a Marketplace resource.".into()),
                created_at: now,
                updated_at: now,
            });
        }
    }
}

pub(crate) fn remove_secrets(
    env: &mut std::collections::HashMap<String, Vec<EnvVar>>,
    installation_id: &str,
    project_id: &str,
    names: &[String],
) {
    if let Some(vars) = env.get_mut(project_id) {
        vars.retain(|v| !(v.configuration_id.as_deref() == Some(installation_id) && names.contains(&v.key)));
    }
}
