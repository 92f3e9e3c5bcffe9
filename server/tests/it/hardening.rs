//! Failing closed and keeping what is the user's: removal is final, an installation never
//! exists without its session, stale or unparsable webhooks change nothing, files are private,
//! and https deployments send HSTS.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use reqwest::{header, StatusCode};
use serde_json::json;
use server::{
    store::{installations::NewInstallation, sessions::NewSession},
    webhook::verify::sign,
};

use crate::support::{world, world_with};

const SECRET: &str = vercel_sim::DEFAULT_CLIENT_SECRET;

#[tokio::test]
async fn a_removal_before_the_callback_leaves_a_tombstone_that_no_callback_revives() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let configuration_id = url.split("configurationId=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    // Vercel removes the installation and says so before the popup's callback arrives.
    assert!(world.sim.sim.uninstall(&configuration_id));
    let delivery = loop {
        let found = world.sim.sim.deliveries().into_iter().find(|d| d.kind == "integration-configuration.removed");
        if let Some(delivery) = found.filter(|d| d.statuses.contains(&200)) {
            break delivery;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(world.applied(&delivery.id).await.starts_with("uninstalled"));
    assert_eq!(world.installation_rows().await, 0, "no row to mark, only a tombstone");

    let response = world.browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.headers().get(header::SET_COOKIE).is_none(), "no session");
    assert!(response.text().await.unwrap().contains("was removed"));
    assert_eq!(world.sim.sim.snapshot().exchanges, 0, "nothing was sent to Vercel");
    assert_eq!(world.installation_rows().await, 0);
}

#[tokio::test]
async fn an_installation_is_never_stored_without_its_session() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let store = world.store().await;
    let before = world.installation_rows().await;
    // A session whose id collides with an existing one cannot be stored: neither may its installation.
    let existing = sqlx_hash_of_any_session(&world).await;
    let installation = NewInstallation {
        configuration_id: "icfg_without_session",
        team_id: None,
        user_id: "user_x",
        source: "marketplace",
        sealed_token: b"sealed",
    };
    let session = NewSession {
        id_hash: &existing,
        configuration_id: "icfg_without_session",
        next_url: "http://127.0.0.1/next",
        current_project_id: None,
        external_id: None,
        lifetime_ms: 60_000,
    };
    assert!(store.store_installation(installation, session).await.is_err());
    assert_eq!(world.installation_rows().await, before, "rolled back with the session");
    assert_eq!(world.get(&format!("/install/{}", popup.configuration_id)).await.status(), StatusCode::OK);
}

async fn sqlx_hash_of_any_session(world: &crate::support::World) -> String {
    world.store().await.any_session_hash().await.unwrap().expect("the popup made a session")
}

#[tokio::test]
async fn stale_and_unparsable_webhooks_change_nothing() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // Not JSON at all: the signature is checked first, so a forger learns nothing from a 400.
    assert_eq!(world.post_webhook(b"not json {", Some("00")).await, StatusCode::UNAUTHORIZED);
    // Genuinely signed but created three days ago: a captured delivery replayed.
    let old = server::store::now_ms() - 72 * 3_600_000;
    let body = serde_json::to_vec(&json!({
        "id": "evt_stale", "type": "integration-configuration.removed", "createdAt": old,
        "payload": {"configuration": {"id": popup.configuration_id}}
    }))
    .unwrap();
    assert_eq!(world.post_webhook(&body, Some(&sign(&body, SECRET))).await, StatusCode::OK, "acknowledged");
    assert!(world.applied("evt_stale").await.starts_with("ignored: created 72 h ago"));
    assert_eq!(
        world.get(&format!("/install/{}", popup.configuration_id)).await.status(),
        StatusCode::OK,
        "still installed"
    );
}

#[tokio::test]
async fn files_tether_creates_are_private() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_alice000", "new")]).await.status(), StatusCode::FOUND);
    let mode = |name: &str| std::fs::metadata(world.data_dir.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(std::fs::metadata(&world.data_dir).unwrap().permissions().mode() & 0o777, 0o700);
    for file in ["tether.db", "tether.db-wal", "tether.db-shm", "sandbox-seal.key"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

#[tokio::test]
async fn https_deployments_send_hsts_and_plain_ones_do_not() {
    let https = world_with(Some("[server]\npublic_url = \"https://tether.example.com\"\n")).await;
    let response = https.get("/healthz").await;
    assert_eq!(response.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=63072000");
    let plain = world().await;
    assert!(plain.get("/healthz").await.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn seal_keys_rotate_a_missing_key_is_reported_at_start_and_rewrap_moves_everything() {
    use server::seal::Sealer;

    use crate::support::{production, serve_logged_in};
    let secret = format!("canary-{}", rand::random::<u64>());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tether = format!("http://127.0.0.1:{port}");
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let mut config = vercel_sim::SimConfig::new(&sim_url, format!("{tether}/callback"));
    config.client_secret = secret.clone();
    let sim = vercel_sim::serve(sim_listener, config).await.unwrap();
    let dir = std::env::temp_dir().join(format!("tether-keys-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (k1, k2) = (Sealer::generate_spec("k1"), Sealer::generate_spec("k2"));
    let serve = |keys: String| {
        let (sim_url, dir, secret) = (sim_url.clone(), dir.clone(), secret.clone());
        async move { serve_logged_in(production(&secret).env("TETHER_SEAL_KEYS", keys), port, &sim_url, &dir).await }
    };
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Under k1: an installation (its token) and a new resource (its API key).
    let mut child = serve(k1.clone()).await;
    let callback = sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let location =
        browser.get(&callback).send().await.unwrap().headers()[header::LOCATION].to_str().unwrap().to_owned();
    let linked = browser
        .post(format!("{tether}/api/link_projects"))
        .header(header::ORIGIN, &tether)
        .header(header::ACCEPT, "text/html")
        .form(&[("configuration_id", location.trim_start_matches("/install/")), ("choices[prj_acme001]", "new")])
        .send()
        .await
        .unwrap();
    assert!(linked.status().is_success() || linked.status().is_redirection());
    child.kill().unwrap();
    child.wait().unwrap();

    // k1 dropped by mistake: the start says so, and the load balancer hears "not ready".
    let mut child = serve(k2.clone()).await;
    let ready = browser.get(format!("{tether}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["sealed_under_missing_keys"]["k1"], 2, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
    let log = std::fs::read_to_string(dir.join("output.log")).unwrap();
    assert!(log.contains("no longer configured"), "reported at start");

    // Rotation done right: k2 first, k1 still there; rewrap; then k1 can go.
    let out = production(&secret)
        .arg("rewrap")
        .env("TETHER_SEAL_KEYS", format!("{k2},{k1}"))
        .env("TETHER_DATA_DIR", &dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("2 re-sealed under `k2`"), "{said}");
    let mut child = serve(k2).await;
    assert_eq!(browser.get(format!("{tether}/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let page = browser.get(format!("{tether}{location}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the token opens under k2 alone");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn housekeeping_keeps_every_table_bounded_over_simulated_days() {
    const DAY: i64 = 24 * 3_600_000;
    let world = world().await;
    let store = world.store().await;
    let mut largest = server::store::housekeeping::Sizes::default();
    for day in 0..10 {
        for _ in 0..3 {
            world.open_popup(vercel_sim::TEAM_ID).await;
        }
        for n in 0..5 {
            let id = format!("evt_day{day}_{n}");
            let body = serde_json::to_vec(&json!({
                "id": id, "type": "deployment.created", "createdAt": server::store::now_ms(),
                "payload": {"project": {"id": "prj_acme000"}, "team": {"id": vercel_sim::TEAM_ID}}
            }))
            .unwrap();
            assert_eq!(world.post_webhook(&body, Some(&sign(&body, SECRET))).await, StatusCode::OK);
            world.applied(&id).await;
        }
        let sizes = store.sizes().await.unwrap();
        largest.sessions = largest.sessions.max(sizes.sessions);
        largest.used_codes = largest.used_codes.max(sizes.used_codes);
        largest.webhook_events = largest.webhook_events.max(sizes.webhook_events);
        // A day passes; the periodic purge runs.
        store.age_by(DAY).await.unwrap();
        store.purge(server::store::now_ms()).await.unwrap();
    }
    println!("largest tables over 10 simulated days: {largest:?}");
    // Without purging: 30 sessions, 30 code hashes, 50 events. With it: a day's sessions and
    // codes, and a week of applied events.
    assert!(largest.sessions <= 3 && largest.used_codes <= 3, "{largest:?}");
    assert!(largest.webhook_events <= 7 * 5 + 5, "{largest:?}");
    let after = store.sizes().await.unwrap();
    assert_eq!((after.sessions, after.used_codes), (0, 0), "all expired");
}

#[tokio::test]
async fn every_route_sends_the_security_headers() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let pages = [
        "/".to_owned(),
        format!("/install/{}", popup.configuration_id),
        format!("/configure?configurationId={}", popup.configuration_id),
        "/callback?code=x".to_owned(),
        "/install/icfg_unknown".to_owned(),
        "/uninstalled".to_owned(),
        "/no/such/page".to_owned(),
    ];
    let others = ["/healthz", "/readyz", "/install/start", "/pkg/missing.wasm", "/favicon.svg"];
    let check = |path: &str, response: &reqwest::Response, html: bool| {
        let get = |name: header::HeaderName| {
            response.headers().get(&name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
        };
        assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        assert_eq!(get(header::REFERRER_POLICY), "no-referrer", "{path}");
        let csp = get(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"), "{path}: {csp}");
        assert!(!csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"), "{path}: {csp}");
        let coop = get(header::HeaderName::from_static("cross-origin-opener-policy"));
        assert!(coop.is_empty() || coop == "unsafe-none", "{path}: the popup must keep its opener");
        if html {
            assert!(csp.contains("object-src 'none'") && csp.contains("'nonce-"), "{path}: {csp}");
            assert!(csp.contains("'wasm-unsafe-eval'"), "{path}");
            assert_eq!(get(header::CACHE_CONTROL), "no-store", "{path}");
        }
    };
    for path in &pages {
        let response = world.get(path).await;
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        check(path, &response, true);
    }
    for path in others {
        check(path, &world.get(path).await, false);
    }
    let hook = reqwest::Client::new().post(format!("{}/webhooks/vercel", world.tether)).body("x").send().await.unwrap();
    check("/webhooks/vercel", &hook, false);
}
