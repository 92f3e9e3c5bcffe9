//! The vendor's calls to Tether (the contract's "Calls you make to Tether"), made by the
//! reference vendor over real HTTP as a vendor would make them, and what Vercel (the simulator)
//! then shows: a resource's status and notification, the installation's notification, secrets
//! the vendor replaced, a resource it brought in. And every call Tether must refuse.

use reqwest::StatusCode;
use serde_json::{json, Value};
use server::signing::{parse_keys, sign};

use crate::{
    sso::{installed, until, TEN_SECONDS, TWENTY_SECONDS},
    support::World,
    vendor::{vendor_world, VendorWorld},
};

/// The account a native installation acts for at the vendor: Vercel's account id in its tokens,
/// which the simulator derives from the installation.
fn account(installation: &str) -> String {
    format!("acc_{installation}")
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A call signed by `secrets` as the contract says, sent as is; Tether's status and body.
async fn signed_call(world: &World, secrets: &str, path: &str, body: &Value, id: &str, at: i64) -> (StatusCode, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signed = sign(&parse_keys(secrets).unwrap(), id, at, &bytes);
    let response = reqwest::Client::new()
        .post(format!("{}/provider/v1/{path}", world.tether))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header("webhook-signature", signed.signature)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(answer: &(StatusCode, Value)) -> (StatusCode, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or_default())
}

/// The vendor's id of the one database Vercel provisioned through the installation.
async fn vendor_resource(world: &VendorWorld, installation: &str) -> String {
    world.vendor.vendor.resources_of(&account(installation)).await.remove(0).0
}

fn sim_resource(world: &World, id: &str) -> vercel_sim::marketplace::NativeResource {
    world.sim.sim.native_resources().into_iter().find(|r| r.id == id).unwrap()
}

/// The vendor suspends a database: Vercel shows it suspended with the vendor's notification,
/// whose `sso:` link goes through Vercel's sign-in. Then the installation's own notification,
/// set and cleared.
#[tokio::test]
async fn a_vendors_status_and_notifications_reach_vercel() {
    let world = vendor_world(3).await;
    let (id, resource, _) = installed(&world.world).await;
    let vendor_id = vendor_resource(&world, &id).await;
    let account = account(&id);
    let notification = json!({
        "level": "warn", "title": "Suspended: over the plan's storage",
        "message": "Writes are paused.", "href": "sso:https://vendor.example/databases/1",
    });
    let body = json!({"account": account, "installation_id": id, "resource_id": vendor_id,
                      "status": "suspended", "notification": notification});
    let told = world.vendor.vendor.tell_tether("resources.status", body).await.unwrap();
    assert_eq!(told, (202, json!({})));
    let sim = &world.world.sim.sim;
    until(TEN_SECONDS, || sim_resource(&world.world, &resource).status == "suspended").await;
    let shown = sim_resource(&world.world, &resource);
    assert_eq!((shown.status.as_str(), shown.notification), ("suspended", Some(notification)));
    assert!(sim.native_api_calls().contains(&format!("PATCH /v1/installations/{id}/resources/{resource}")));

    let installation = || sim.native_installations().into_iter().find(|i| i.id == id).unwrap().notification;
    let note = json!({"level": "info", "title": "Your first invoice is ready"});
    let body = json!({"account": account, "installation_id": id, "notification": note});
    assert_eq!(world.vendor.vendor.tell_tether("installation.notification", body).await.unwrap().0, 202);
    until(TEN_SECONDS, || installation().is_some()).await;
    assert_eq!(installation(), Some(note));
    let body = json!({"account": account, "installation_id": id, "notification": null});
    assert_eq!(world.vendor.vendor.tell_tether("installation.notification", body).await.unwrap().0, 202);
    until(TEN_SECONDS, || installation().is_none()).await;
    assert_eq!(installation(), None, "null clears it");
}

/// The vendor renames a database (its customer did, on the vendor's site): Tether keeps the
/// name, checked as Vercel's own PATCH is, and tells Vercel to read the resource again, which
/// Vercel does through the Partner API.
#[tokio::test]
async fn a_vendors_rename_reaches_vercel_as_an_event_it_reads_again() {
    let world = vendor_world(3).await;
    let (id, resource, _) = installed(&world.world).await;
    let vendor_id = vendor_resource(&world, &id).await;
    let account = account(&id);
    let vendor = &world.vendor.vendor;
    let change = |fields: Value| {
        let mut body = json!({"account": account, "installation_id": id, "resource_id": vendor_id});
        body.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        vendor.tell_tether("resources.changed", body)
    };
    for bad in [json!({}), json!({"billing_plan_id": "platinum"}), json!({"name": ""}), json!({"metadata": "big"})] {
        let (status, answer) = change(bad.clone()).await.unwrap();
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("bad_request")), "{bad}");
    }
    assert_eq!(change(json!({"name": "orders-db"})).await.unwrap(), (202, json!({})));
    let sim = &world.world.sim.sim;
    until(TEN_SECONDS, || sim_resource(&world.world, &resource).name == "orders-db").await;
    assert_eq!(sim_resource(&world.world, &resource).name, "orders-db", "Vercel read the new name from Tether");
    let calls = sim.native_api_calls();
    assert!(calls.contains(&format!("POST /v1/installations/{id}/events")), "{calls:?}");
    let reads: Vec<_> =
        sim.partner_calls().into_iter().filter(|c| c.method == "GET" && c.path.ends_with(&resource)).collect();
    assert_eq!(reads.len(), 1, "Vercel read it again once: {reads:?}");
    assert_eq!(reads[0].statuses, [200]);
}

/// Only a call signed with a shared key, naming its own action, for an installation of the
/// account it names and a resource of that installation, changes anything; Vercel hears none of
/// the others. A repeated call queues nothing more, and an older one arriving late changes
/// nothing.
#[tokio::test]
async fn a_vendors_calls_are_refused_unless_signed_for_its_own_installation() {
    let world = vendor_world(3).await;
    let (id, resource, _) = installed(&world.world).await;
    let vendor_id = vendor_resource(&world, &id).await;
    let account = account(&id);
    let tether = &world.world;
    let status = |status: &str| {
        json!({"action": "resources.status", "account": account, "installation_id": id,
               "resource_id": vendor_id, "status": status})
    };
    let secrets = world.secrets.as_str();

    // Unsigned, and signed by a key Tether does not share.
    let unsigned = reqwest::Client::new()
        .post(format!("{}/provider/v1/resources/status", tether.tether))
        .json(&status("error"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let stranger = server::signing::SigningKey::generate_spec("k9");
    let answer = signed_call(tether, &stranger, "resources/status", &status("error"), "msg_a", now()).await;
    assert_eq!(code(&answer), (StatusCode::UNAUTHORIZED, "bad_signature"));
    let stale = signed_call(tether, secrets, "resources/status", &status("error"), "msg_b", now() - 400).await;
    assert_eq!(code(&stale), (StatusCode::UNAUTHORIZED, "bad_signature"), "older than five minutes");

    // Signed, but for another endpoint, or another account, or a resource not in it.
    let answer = signed_call(tether, secrets, "installation/notification", &status("error"), "msg_c", now()).await;
    assert_eq!(code(&answer), (StatusCode::BAD_REQUEST, "wrong_action"));
    let answer = signed_call(tether, secrets, "resources/nothing", &status("error"), "msg_d", now()).await;
    assert_eq!(code(&answer), (StatusCode::NOT_FOUND, "unknown_action"));
    let mut other = status("error");
    other["account"] = json!("team_someone_else");
    let answer = signed_call(tether, secrets, "resources/status", &other, "msg_e", now()).await;
    assert_eq!(code(&answer), (StatusCode::NOT_FOUND, "unknown_installation"));
    let mut other = status("error");
    other["resource_id"] = json!("db_not_in_this_installation");
    let answer = signed_call(tether, secrets, "resources/status", &other, "msg_f", now()).await;
    assert_eq!(code(&answer), (StatusCode::NOT_FOUND, "unknown_resource"));

    // Signed and addressed, but not what Vercel takes.
    for (field, value) in [
        ("status", json!("melted")),
        ("notification", json!({"level": "warn", "title": "x".repeat(101)})),
        ("notification", json!({"level": "loud", "title": "Hi"})),
        ("notification", json!({"level": "info", "title": "Hi", "href": "javascript:alert(1)"})),
    ] {
        let mut bad = status("error");
        bad[field] = value;
        let answer = signed_call(tether, secrets, "resources/status", &bad, "msg_g", now()).await;
        assert_eq!(code(&answer), (StatusCode::BAD_REQUEST, "bad_request"), "{bad}");
    }
    let jobs = tether.store().await.job_bodies("push_status").await.unwrap();
    assert!(jobs.is_empty(), "nothing refused is queued: {jobs:?}");

    // The same call twice (a retry with its `webhook-id`): one push.
    let at = now();
    for _ in 0..2 {
        let answer = signed_call(tether, secrets, "resources/status", &status("error"), "msg_h", at).await;
        assert_eq!(answer.0, StatusCode::ACCEPTED);
    }
    assert_eq!(tether.store().await.job_bodies("push_status").await.unwrap().len(), 1);
    // An older call arriving after it: accepted (it is well signed), and changes nothing.
    let late = signed_call(tether, secrets, "resources/status", &status("ready"), "msg_i", at - 60).await;
    assert_eq!(late.0, StatusCode::ACCEPTED);
    tether.jobs_sent().await;
    assert_eq!(sim_resource(tether, &resource).status, "error", "the latest call's status stands");
    let patches = tether.sim.sim.native_api_calls().iter().filter(|c| c.starts_with("PATCH ")).count();
    assert!((1..=2).contains(&patches), "only the accepted calls reached Vercel: {patches}");
}

/// The vendor resets a database's key itself: Vercel gets the new one and writes it into the
/// connected project. It brings in a database the customer already had: Vercel shows it with its
/// secrets, and deleting it at Vercel never releases it at the vendor.
#[tokio::test]
async fn a_vendors_reset_and_import_reach_vercel_and_an_import_is_never_released() {
    let world = vendor_world(3).await;
    let (id, resource, _) = installed(&world.world).await;
    let vendor_id = vendor_resource(&world, &id).await;
    let account = account(&id);
    let sim = &world.world.sim.sim;
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0).id;
    let key = || sim.env_value(&project, "REFDB_API_KEY", "production");
    let before = key().expect("Vercel wrote the key into the project");
    let vendor = &world.vendor.vendor;
    vendor.reset_key(&account, &vendor_id).await.unwrap();
    let body = json!({"account": account, "installation_id": id, "resource_id": vendor_id});
    assert_eq!(vendor.tell_tether("resources.secrets", body).await.unwrap().0, 202);
    until(TEN_SECONDS, || key() != Some(before.clone())).await;
    assert_eq!(key(), vendor.api_key(&vendor_id).await, "the project has the vendor's new key");
    assert!(sim.native_api_calls().contains(&format!("PUT /v1/installations/{id}/resources/{resource}/secrets")));

    let legacy = vendor.add_resource(&account, "legacy-db").await;
    let body = json!({"account": account, "installation_id": id, "resource_id": legacy,
                      "product_id": "tether", "name": "legacy-db"});
    assert_eq!(vendor.tell_tether("resources.import", body.clone()).await.unwrap(), (202, json!({})));
    let imported = || sim.native_resources().into_iter().find(|r| r.name == "legacy-db");
    until(TEN_SECONDS, || imported().is_some()).await;
    let shown = imported().expect("Vercel shows the imported database");
    assert!(shown.imported && shown.status == "ready", "{shown:?}");
    assert!(shown.secret_names.contains(&"REFDB_API_KEY".to_owned()), "{shown:?}");
    let again = vendor.tell_tether("resources.import", body).await.unwrap();
    assert_eq!((again.0, again.1["error"]["code"].as_str()), (409, Some("already_imported")));

    // The user deletes it at Vercel: gone from the installation, kept at the vendor.
    sim.native_delete(&id, &shown.id).await.unwrap();
    world.world.jobs_sent().await;
    assert!(world.world.store().await.job_bodies("release").await.unwrap().is_empty(), "no release was asked");
    let kept = vendor.resources_of(&account).await;
    assert!(kept.iter().any(|(id, _)| *id == legacy), "the customer's database is theirs: {kept:?}");
}

/// Vercel failing the push more often than one run retries, and Tether killed while the push
/// waits for its next run: the restarted Tether sends it, once.
#[tokio::test]
async fn a_vendors_status_push_survives_5xx_and_a_crash() {
    let deployment = crate::support::Deployment::new().await;
    let secrets = server::signing::SigningKey::generate_spec("k1");
    let config =
        reference_vendor::Config { database_url: "sqlite::memory:".into(), secrets: secrets.clone(), plan_limit: 3 };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vendor = reference_vendor::serve(listener, config).await.unwrap();
    vendor.vendor.set_tether_url(&deployment.tether);
    let keys = server::seal::Sealer::generate_spec("k1");
    let (sim_url, base_url) = (deployment.sim.url(), vendor.base_url());
    let vars = [
        ("TETHER_NATIVE_ISSUER", sim_url.as_str()),
        ("TETHER_PROVIDER_KIND", "http"),
        ("TETHER_PROVIDER_URL", base_url.as_str()),
        ("TETHER_PROVIDER_SECRETS", secrets.as_str()),
    ];
    let child = deployment.start_with(&keys, &vars).await;
    let sim = &deployment.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let resource = sim.native_provision(&id, "tether", "main-db", json!({}), "free").await.unwrap();
    let account = account(&id);
    let vendor_id = vendor.vendor.resources_of(&account).await.remove(0).0;
    let patches = || sim.native_api_calls().iter().filter(|c| c.starts_with("PATCH ")).count();
    let status = || sim.native_resources().into_iter().find(|r| r.id == resource.id).unwrap().status;
    for _ in 0..4 {
        sim.fail_next("PATCH", &format!("/v1/installations/{id}/resources/"), 503);
    }
    let body = json!({"account": account, "installation_id": id, "resource_id": vendor_id, "status": "error"});
    assert_eq!(vendor.vendor.tell_tether("resources.status", body).await.unwrap().0, 202);
    until(TWENTY_SECONDS, || patches() >= 4).await;
    let store = deployment.store().await;
    let started = std::time::Instant::now();
    while store.job_attempts("push_status").await.unwrap() != [1] && started.elapsed() < TWENTY_SECONDS {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.job_attempts("push_status").await.unwrap(), [1], "one failed run, recorded");
    crate::support::kill(child);
    assert_eq!(status(), "ready", "Vercel has not heard yet");

    let child = deployment.start_with(&keys, &vars).await;
    until(TWENTY_SECONDS, || status() == "error").await;
    assert_eq!(status(), "error", "the restarted Tether told Vercel");
    assert_eq!(patches(), 5, "four refusals, then the one Vercel took: once");
    crate::support::kill(child);
}
