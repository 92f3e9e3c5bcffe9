//! The Partner API of native integrations, called the way Vercel calls it (its token, its
//! bodies, its retries) over real HTTP, with the built-in provider and with the reference vendor.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{world, World};

const INSTALLATION: &str = "icfg_native_partner";
/// The account the simulator's tokens name for [`INSTALLATION`]: the vendor account by default.
const ACCOUNT: &str = "acc_icfg_native_partner";

/// Vercel's side of one installation: its tokens and its calls.
struct Vercel<'a> {
    world: &'a World,
    installation: &'a str,
    client: reqwest::Client,
}

impl<'a> Vercel<'a> {
    fn new(world: &'a World, installation: &'a str) -> Self {
        Self { world, installation, client: reqwest::Client::new() }
    }

    fn admin(&self) -> String {
        self.world.sim.sim.user_token(self.installation, "u_admin", "ADMIN")
    }

    fn path(&self, rest: &str) -> String {
        format!("{}/v1/installations/{}{rest}", self.world.tether, self.installation)
    }

    /// A call as Vercel makes it: its bearer, `X-Vercel-Auth`, and an Idempotency-Key on a change.
    async fn call(
        &self,
        method: Method,
        rest: &str,
        token: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request =
            self.client.request(method, self.path(rest)).bearer_auth(token).header("x-vercel-auth", "user");
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn install(&self) -> StatusCode {
        self.call(Method::PUT, "", &self.admin(), Some("install-1"), Some(install_body())).await.0
    }

    async fn provision(&self, key: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/resources", &self.admin(), key, Some(body)).await
    }
}

fn install_body() -> Value {
    json!({
        "scopes": ["read:resource", "write:resource"],
        "acceptedPolicies": {"toc": "2026-12-01T10:00:00Z"},
        "credentials": {"access_token": "vercel_native_token_1", "token_type": "Bearer"},
        "account": {"name": "Acme Team", "url": "https://vercel.com/acme", "contact": {"email": "ops@acme.example", "name": "Ops"}},
    })
}

fn database(name: &str) -> Value {
    json!({"productId": "tether", "name": name, "metadata": {}, "billingPlanId": "free"})
}

fn secret<'v>(resource: &'v Value, name: &str) -> &'v str {
    let secrets = resource["secrets"].as_array().unwrap();
    secrets
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["value"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {resource}"))
}

/// The name of the built-in provider's API key secret (the default env templates).
fn api_key_name(resource: &Value) -> String {
    let secrets = resource["secrets"].as_array().unwrap();
    let key = secrets.iter().find(|s| s["value"].as_str().is_some_and(|v| v.starts_with("sk_")));
    key.unwrap_or_else(|| panic!("no API key among {resource}"))["name"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_native_install_provisions_reads_changes_rotates_deletes_and_uninstalls() {
    let world = world().await;
    let vercel = Vercel::new(&world, INSTALLATION);
    assert_eq!(vercel.install().await, StatusCode::NO_CONTENT);
    // Vercel sends the upsert again (a retry, or new scopes): the same installation.
    assert_eq!(vercel.install().await, StatusCode::NO_CONTENT);
    let (status, read) = vercel.call(Method::GET, "", &vercel.admin(), None, None).await;
    assert_eq!((status, read), (StatusCode::OK, json!({})));

    let (status, created) = vercel.provision(Some("prov-1"), database("orders")).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "ready");
    assert_eq!(created["billingPlan"]["id"], "free");
    let key_name = api_key_name(&created);
    let first_key = secret(&created, &key_name).to_owned();
    let store = world.store().await;
    assert_eq!(store.resources_of(ACCOUNT).await.unwrap().len(), 1, "the vendor has the resource");

    // A retry with the same key answers the same resource and creates nothing.
    let (status, again) = vercel.provision(Some("prov-1"), database("orders")).await;
    assert_eq!((status, again["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    assert_eq!(secret(&again, &key_name), first_key);
    assert_eq!(store.resources_of(ACCOUNT).await.unwrap().len(), 1, "a retry makes no second resource");

    let (status, read) = vercel.call(Method::GET, &format!("/resources/{id}"), &vercel.admin(), None, None).await;
    assert_eq!((status, &read["name"]), (StatusCode::OK, &json!("orders")));
    assert!(read.get("secrets").is_none(), "secrets are given once, at provisioning: {read}");
    let (status, renamed) = vercel
        .call(
            Method::PATCH,
            &format!("/resources/{id}"),
            &vercel.admin(),
            Some("patch-1"),
            Some(json!({"name": "orders-eu"})),
        )
        .await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("orders-eu")));

    // Rotation: new secrets at once; the old key stops working when the delay (none) has passed.
    let rotate = format!("/resources/{id}/secrets/rotate");
    let (status, rotated) =
        vercel.call(Method::POST, &rotate, &vercel.admin(), Some("rot-1"), Some(json!({"reason": "leak"}))).await;
    assert_eq!((status, &rotated["sync"]), (StatusCode::OK, &json!(true)), "{rotated}");
    let new_key = secret(&rotated, &key_name).to_owned();
    assert_ne!(new_key, first_key);
    world.jobs_sent().await;
    let resource = &store.resources_of(ACCOUNT).await.unwrap()[0];
    assert!(resource.sealed_pending_key.is_none(), "the rotation finished: only the new key works");

    let (status, _) =
        vercel.call(Method::DELETE, &format!("/resources/{id}"), &vercel.admin(), Some("del-1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = vercel.call(Method::GET, &format!("/resources/{id}"), &vercel.admin(), None, None).await;
    assert_eq!((status, &gone["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    world.jobs_sent().await;
    assert!(store.resources_of(ACCOUNT).await.unwrap().is_empty(), "the user deleted it: released");

    let (status, removed) = vercel
        .call(Method::DELETE, "", &vercel.admin(), Some("uninstall-1"), Some(json!({"cascadeResourceDeletion": true})))
        .await;
    assert_eq!((status, removed), (StatusCode::OK, json!({"finalized": true})));
    let (status, again) = vercel.call(Method::DELETE, "", &vercel.admin(), Some("uninstall-1"), None).await;
    assert_eq!((status, again), (StatusCode::OK, json!({"finalized": true})), "a repeated uninstall answers the same");
    assert_eq!(vercel.call(Method::GET, "", &vercel.admin(), None, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(vercel.install().await, StatusCode::CONFLICT, "removal is final: a reinstall has a new id");
    let jobs = world.jobs_sent().await;
    assert!(jobs.iter().any(|(_, kind, _)| kind == "notice"), "the vendor hears of the uninstall: {jobs:?}");
}

#[tokio::test]
async fn an_idempotency_key_answers_its_own_request_only_and_names_are_unique() {
    let world = world().await;
    let vercel = Vercel::new(&world, INSTALLATION);
    vercel.install().await;
    let (status, first) = vercel.provision(Some("k-1"), database("cache")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, reused) = vercel.provision(Some("k-1"), database("another")).await;
    assert_eq!((status, &reused["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")));
    // A retry that lost its key still makes no second resource of the same name.
    let (status, named) = vercel.provision(None, database("cache")).await;
    assert_eq!((status, &named["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")));
    let (status, second) = vercel.provision(Some("k-2"), database("sessions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(first["id"], second["id"]);
    assert_eq!(world.store().await.resources_of(ACCOUNT).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_provision_that_does_not_fit_names_each_field_and_creates_nothing() {
    let schema = r#"
[[native.products]]
slug = "acme-db"
name = "Acme DB"
metadata_schema = { type = "object", required = ["region"], properties = { region = { type = "string", "ui:control" = "select", enum = ["iad1", "fra1"] } } }
plans = [{ id = "hobby", name = "Hobby" }, { id = "team", name = "Team", scope = "installation" }]
"#;
    let world = crate::support::world_with(Some(schema)).await;
    let vercel = Vercel::new(&world, INSTALLATION);
    vercel.install().await;
    for (body, fields) in [
        (json!({"productId": "nope", "name": "x", "billingPlanId": "hobby"}), vec!["productId"]),
        (
            json!({"productId": "acme-db", "name": "", "metadata": {"region": "iad1"}, "billingPlanId": "hobby"}),
            vec!["name"],
        ),
        // An installation-scoped plan is not a resource's.
        (
            json!({"productId": "acme-db", "name": "x", "metadata": {"region": "iad1"}, "billingPlanId": "team"}),
            vec!["billingPlanId"],
        ),
        (
            json!({"productId": "acme-db", "name": "x", "metadata": {}, "billingPlanId": "hobby"}),
            vec!["metadata.region"],
        ),
        (
            json!({"productId": "acme-db", "name": "x", "metadata": {"region": 5}, "billingPlanId": "hobby"}),
            vec!["metadata.region"],
        ),
    ] {
        let (status, refused) = vercel.provision(Some("k"), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused["error"]["code"], "validation_error");
        let keys: Vec<&str> =
            refused["error"]["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
        assert_eq!(keys, fields, "{body}");
    }
    let (status, _) = vercel.call(Method::POST, "/resources", &vercel.admin(), Some("k"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no body");
    assert!(world.store().await.resources_of(ACCOUNT).await.unwrap().is_empty());
    let fits = json!({"productId": "acme-db", "name": "x", "metadata": {"region": "fra1"}, "billingPlanId": "hobby"});
    let (status, created) = vercel.provision(Some("k"), fits).await;
    assert_eq!(status, StatusCode::OK, "the key refused before is judged afresh: {created}");
    assert_eq!(created["metadata"], json!({"region": "fra1"}));
}

/// Each refusal is 401 or 403 in Vercel's error shape, and changes nothing.
#[tokio::test]
async fn every_partner_call_refuses_a_caller_who_may_not_make_it() {
    let world = world().await;
    let vercel = Vercel::new(&world, INSTALLATION);
    let sim = &world.sim.sim;
    let viewer = sim.user_token(INSTALLATION, "u_viewer", "USER");
    let other = sim.user_token("icfg_someone_else", "u_admin", "ADMIN");
    let forged = format!("{}x", vercel.admin());
    let calls: [(Method, &str, Option<Value>); 6] = [
        (Method::PUT, "", Some(install_body())),
        (Method::DELETE, "", None),
        (Method::POST, "/resources", Some(database("x"))),
        (Method::PATCH, "/resources/nres_1", Some(json!({"name": "y"}))),
        (Method::DELETE, "/resources/nres_1", None),
        (Method::POST, "/resources/nres_1/secrets/rotate", Some(json!({}))),
    ];
    for (method, rest, body) in &calls {
        for (who, token, status, code) in [
            ("a forged token", forged.as_str(), StatusCode::UNAUTHORIZED, "unauthorized"),
            ("another installation's token", other.as_str(), StatusCode::FORBIDDEN, "forbidden"),
            ("a user who may only read", viewer.as_str(), StatusCode::FORBIDDEN, "forbidden"),
        ] {
            let (got, refused) = vercel.call(method.clone(), rest, token, Some("k"), body.clone()).await;
            assert_eq!(got, status, "{method} {rest} with {who}");
            assert_eq!(refused["error"]["code"], code, "{method} {rest} with {who}: {refused}");
        }
    }
    assert_eq!(world.installation_rows().await, 0, "no refused call kept an installation");
    // A system token presented as a user's act.
    let system = sim.system_token(INSTALLATION);
    let (status, _) = vercel.call(Method::PUT, "", &system, Some("k"), Some(install_body())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "X-Vercel-Auth: user needs a user's token");
    // A viewer may read; Vercel's own system (no user) may change.
    let as_system = reqwest::Client::new()
        .put(vercel.path(""))
        .bearer_auth(&system)
        .header("x-vercel-auth", "system")
        .json(&install_body())
        .send()
        .await
        .unwrap();
    assert_eq!(as_system.status(), StatusCode::NO_CONTENT);
    assert_eq!(vercel.call(Method::GET, "", &viewer, None, None).await.0, StatusCode::OK);
    let (status, refused) =
        vercel.call(Method::PUT, "", &vercel.admin(), Some("k"), Some(json!({"scopes": "all"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let keys: Vec<&str> =
        refused["error"]["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["credentials.access_token", "scopes"]);
}

/// A team may hold a popup installation and a native one: each keeps its own row and token.
#[tokio::test]
async fn a_native_upsert_never_takes_over_a_popup_installation() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let vercel = Vercel::new(&world, &popup.configuration_id);
    let (status, refused) = vercel.call(Method::PUT, "", &vercel.admin(), Some("k"), Some(install_body())).await;
    assert_eq!((status, &refused["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")));
    assert_eq!(vercel.call(Method::GET, "", &vercel.admin(), None, None).await.0, StatusCode::NOT_FOUND);
    // The popup's installation still lists the team's projects with its own token.
    assert_eq!(world.get(&format!("/install/{}", popup.configuration_id)).await.status(), StatusCode::OK);
}

/// Through the vendor's own system (the reference vendor over the contract): a resource with the
/// name the user gave, its variables as Vercel's secrets, a rotation in two phases, a release.
#[tokio::test]
async fn a_native_resource_lives_in_the_vendors_own_system() {
    let crate::vendor::VendorWorld { world, vendor, .. } = crate::vendor::vendor_world(3).await;
    let vercel = Vercel::new(&world, INSTALLATION);
    assert_eq!(vercel.install().await, StatusCode::NO_CONTENT);
    let (status, created) = vercel.provision(Some("p-1"), database("analytics")).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let at_vendor = vendor.vendor.resources_of(ACCOUNT).await;
    assert_eq!(at_vendor.iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>(), ["analytics"]);
    // REFDB_REGION is for production and preview only: development gets an empty value, never
    // another environment's.
    let region = created["secrets"].as_array().unwrap().iter().find(|s| s["name"] == "REFDB_REGION").unwrap();
    assert_eq!(region["value"], "eu-1");
    assert_eq!(region["environmentOverrides"], json!({"development": ""}));
    let old_key = secret(&created, "REFDB_API_KEY").to_owned();

    let id = created["id"].as_str().unwrap();
    let rotate = format!("/resources/{id}/secrets/rotate");
    let body = json!({"delayOldSecretsExpirationHours": 24});
    let (status, rotated) = vercel.call(Method::POST, &rotate, &vercel.admin(), Some("r-1"), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(secret(&rotated, "REFDB_API_KEY"), old_key);
    let jobs = world.store().await.jobs().await.unwrap();
    assert!(
        jobs.iter().any(|(_, kind, state)| kind == "finish_rotation" && state == "pending"),
        "the old key keeps working for the day Vercel asked: {jobs:?}"
    );

    let (status, _) =
        vercel.call(Method::DELETE, &format!("/resources/{id}"), &vercel.admin(), Some("d-1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for _ in 0..200 {
        if vendor.vendor.resources_of(ACCOUNT).await.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the vendor was never asked to release what the user deleted");
}

/// The simulator plays Vercel's Marketplace end to end against Tether: plans (the `new` call
/// included), install, provision, connect to two projects (their env vars appear at Vercel),
/// rotate, disconnect, delete, uninstall; the webhooks each applied once.
#[tokio::test]
async fn the_simulated_marketplace_drives_a_whole_native_lifecycle() {
    let world = world().await;
    let sim = &world.sim.sim;
    let plans = sim.native_plans("tether", None).await.unwrap();
    assert_eq!(plans["plans"][0]["id"], "free");
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let resource = sim.native_provision(&id, "tether", "main-db", json!({}), "free").await.unwrap();
    let key = resource.secrets.iter().find(|s| s.value.starts_with("sk_")).unwrap().name.clone();
    for project in ["prj_alice000", "prj_alice002"] {
        sim.native_connect(&id, &resource.id, project).unwrap();
    }
    let value = |project: &str| sim.env_value(project, &key, "production");
    assert!(value("prj_alice000").is_some_and(|v| v.starts_with("sk_")), "the secrets are the project's env vars");
    assert_eq!(value("prj_alice000"), value("prj_alice002"));
    let before = value("prj_alice000");
    assert!(sim.native_rotate(&id, &resource.id, 0.0).await.unwrap(), "a synchronous rotation");
    assert_ne!(value("prj_alice000"), before);
    assert_eq!(value("prj_alice000"), value("prj_alice002"), "both projects have the new secret");
    sim.native_disconnect(&id, &resource.id, "prj_alice002").unwrap();
    assert_eq!(value("prj_alice002"), None);
    // Each webhook was applied once and became the vendor's notice.
    for delivery in sim.deliveries() {
        let applied = world.applied(&delivery.id).await;
        assert!(applied.starts_with("project."), "{}: {applied}", delivery.kind);
    }
    sim.native_delete(&id, &resource.id).await.unwrap();
    assert_eq!(value("prj_alice000"), None, "Vercel removes a deleted resource's secrets");
    assert!(sim.native_uninstall(&id).await.unwrap(), "finalized at once: Tether does not bill");
    let calls = sim.partner_calls();
    assert!(calls.iter().all(|c| c.statuses.len() == 1), "no call needed a retry: {calls:?}");
}

/// Every fault the simulator can put in a Partner call is refused, and refused before anything
/// changes.
#[tokio::test]
async fn the_marketplace_faults_are_each_refused_and_change_nothing() {
    use vercel_sim::marketplace::PartnerFault;
    let world = world().await;
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    for fault in
        [PartnerFault::Expired, PartnerFault::WrongAudience, PartnerFault::WrongIssuer, PartnerFault::UnknownKey]
    {
        sim.set_partner_fault(Some(fault));
        let refused = sim.native_provision(&id, "tether", "db", json!({}), "free").await.unwrap_err();
        assert_eq!(refused.status, 401, "{fault:?}: {refused}");
    }
    assert!(world.store().await.resources_of(&format!("acc_{id}")).await.unwrap().is_empty());
    sim.native_provision(&id, "tether", "first", json!({}), "free").await.unwrap();
    sim.set_partner_fault(Some(PartnerFault::ReplayedKey));
    let replayed = sim.native_provision(&id, "tether", "second", json!({}), "free").await.unwrap_err();
    assert_eq!((replayed.status, &replayed.body["error"]["code"]), (409, &json!("conflict")));
    assert_eq!(world.store().await.resources_of(&format!("acc_{id}")).await.unwrap().len(), 1);
}

/// Vercel retries a provision that failed with a 5xx with the same Idempotency-Key: one
/// resource, whatever failed first.
#[tokio::test]
async fn a_provision_retried_after_a_5xx_makes_one_resource() {
    let crate::vendor::VendorWorld { world, vendor, .. } = crate::vendor::vendor_world(3).await;
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    // The vendor creates, then every answer of Tether's three attempts is lost: Tether answers
    // Vercel 503, and Vercel retries with the same key.
    vendor.vendor.lose_answers("resources.create", 3);
    let resource = sim.native_provision(&id, "tether", "orders", json!({}), "free").await.unwrap();
    let call = sim.partner_calls().into_iter().find(|c| c.path.ends_with("/resources")).unwrap();
    assert_eq!(call.statuses, [503, 200], "{call:?}");
    assert_eq!(vendor.vendor.resources_of(&format!("acc_{id}")).await.len(), 1, "one resource at the vendor");
    assert_eq!(resource.name, "orders");
}

/// A member's role change reaches the vendor once, however often Vercel delivers it; a role
/// Vercel does not document is not passed on.
#[tokio::test]
async fn a_member_change_reaches_the_vendor_once() {
    let world = world().await;
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let payload =
        |role: &str| json!({"configuration": {"id": id}, "installationId": id, "memberId": "user_carol", "role": role});
    let event = sim.native_member_changed(&id, "user_carol", "USER");
    assert_eq!(world.applied(&event).await, "member user_carol is now USER");
    assert!(sim.deliver(&event, false), "Vercel delivers it again");
    let odd = sim.emit("marketplace.member.changed", payload("OWNER"));
    assert_eq!(world.applied(&odd).await, "ignored: a role Vercel does not document");
    // The notice follows Vercel's member answer: wait for it, then for anything else to come.
    for _ in 0..200 {
        if world.notice_types().await.iter().any(|kind| kind == "member.changed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    world.jobs_sent().await;
    let notices = world.notice_types().await;
    let changed = notices.iter().filter(|kind| *kind == "member.changed").count();
    assert_eq!(changed, 1, "one notice for one change: {notices:?}");
}

/// Vercel's own word on the team and its members reaches the vendor, read with the
/// installation's token: the account after the install, the member after a role change.
#[tokio::test]
async fn the_vendor_hears_of_the_team_and_its_members_from_vercels_answers() {
    let crate::vendor::VendorWorld { world, vendor, .. } = crate::vendor::vendor_world(3).await;
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let carol = sim.native_member_changed(&id, "user_carol", "USER");
    world.applied(&carol).await;
    assert!(sim.deliver(&carol, false), "Vercel delivers it again");
    let dave = sim.native_member_changed(&id, "user_dave", "NONE");
    world.applied(&dave).await;
    let mut notices = Vec::new();
    for _ in 0..200 {
        world.jobs_sent().await;
        notices = vendor.vendor.notices().await;
        if notices.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let of = |kind: &str| -> Vec<Value> {
        notices.iter().filter(|(k, _)| k == kind).map(|(_, body)| serde_json::from_str(body).unwrap()).collect()
    };
    let created = of("installation.created");
    assert_eq!(created.len(), 1, "{notices:?}");
    assert_eq!(created[0]["team"]["name"], "Alice Example");
    assert!(created[0]["team"]["contact"]["email"].as_str().is_some_and(|e| e.contains('@')), "{:?}", created[0]);
    let members = of("member.changed");
    assert_eq!(members.len(), 2, "one notice per change, however often Vercel delivers it: {members:?}");
    let who = |id: &str| members.iter().find(|m| m["member_id"] == id).unwrap().clone();
    let carol = who("user_carol");
    assert_eq!((&carol["role"], &carol["member_email"]), (&json!("USER"), &json!("user_carol@sim.example")));
    let dave = who("user_dave");
    assert_eq!((&dave["role"], &dave["member_name"]), (&json!("NONE"), &Value::Null), "a member who left");
    let calls = sim.native_api_calls();
    assert!(calls.contains(&format!("GET /v1/installations/{id}/account")), "{calls:?}");
}

/// The operator sees native installations as such, with their resources.
#[tokio::test]
async fn the_operator_sees_a_native_installation_and_its_resources() {
    const TOKEN: &str = "operator-token-for-the-native-test-0123456789";
    let world = crate::support::world_with_env(None, &[("TETHER_OPERATOR_TOKEN", TOKEN.to_owned())]).await;
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    sim.native_provision(&id, "tether", "db", json!({}), "free").await.unwrap();
    let overview: Value = reqwest::Client::new()
        .get(format!("{}/operator", world.tether))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recent = overview["installations"]["recent"].as_array().unwrap();
    let native = recent.iter().find(|i| i["configuration_id"] == id.as_str()).unwrap();
    assert_eq!((&native["kind"], &native["resources"]), (&json!("native"), &json!(1)), "{native}");
}

/// Vercel may say a native uninstall twice (the Partner API's DELETE and the removal webhook),
/// in either order: the resources go once, and the vendor hears of it once.
#[tokio::test]
async fn an_uninstall_said_twice_is_done_once() {
    let world = world().await;
    let sim = &world.sim.sim;
    for webhook_first in [true, false] {
        let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
        let resource = sim.native_provision(&id, "tether", "db", json!({}), "free").await.unwrap();
        let webhook = || {
            sim.emit(
                "integration-configuration.removed",
                json!({"configuration": {"id": id, "projects": []}, "user": {"id": "u"}}),
            )
        };
        if webhook_first {
            let event = webhook();
            assert!(world.applied(&event).await.starts_with("uninstalled"));
            assert!(sim.native_uninstall(&id).await.unwrap(), "the DELETE after it answers the same");
        } else {
            assert!(sim.native_uninstall(&id).await.unwrap());
            let event = webhook();
            world.applied(&event).await;
        }
        world.jobs_sent().await;
        let notices = world.notice_types().await;
        let removed = notices.iter().filter(|kind| *kind == "installation.removed").count();
        assert_eq!(removed, if webhook_first { 1 } else { 2 }, "one notice per installation: {notices:?}");
        let store = world.store().await;
        let live = store.native_resource(&crate::support::icfg(&id), &resource.id).await.unwrap();
        assert!(live.is_none(), "the resource went with its installation");
    }
}
