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

use crate::support::{database_url, icfg, kill, production, world, world_with, Deployment};

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
        configuration_id: &icfg("icfg_without_session"),
        team_id: None,
        user_id: "user_x",
        source: server::params::Source::Marketplace,
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
    // Genuinely signed but without `createdAt`: its age cannot be checked, so it is recorded and
    // not applied.
    let body = serde_json::to_vec(&json!({
        "id": "evt_unstamped", "type": "integration-configuration.removed",
        "payload": {"configuration": {"id": popup.configuration_id}}
    }))
    .unwrap();
    assert_eq!(world.post_webhook(&body, Some(&sign(&body, SECRET))).await, StatusCode::OK, "acknowledged");
    assert_eq!(world.applied("evt_unstamped").await, "ignored: no createdAt, so its age cannot be checked");
    assert_eq!(
        world.get(&format!("/install/{}", popup.configuration_id)).await.status(),
        StatusCode::OK,
        "still installed"
    );
}

#[tokio::test]
async fn sqlite_files_tether_creates_are_private() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_alice000", "new")]).await.status(), StatusCode::FOUND);
    let mode = |name: &str| std::fs::metadata(world.data_dir.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(std::fs::metadata(&world.data_dir).unwrap().permissions().mode() & 0o777, 0o700);
    for file in ["tether.db", "tether.db-wal", "tether.db-shm", "sandbox-seal.key"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

/// A data directory that others may enter is tightened when it is Tether's user's own, and
/// refused when it is shared (sticky, like `/tmp`): Tether cannot make that one private.
#[tokio::test]
async fn sqlite_a_data_directory_open_to_others_is_tightened_and_a_shared_one_refused() {
    let deployment = Deployment::new().await;
    std::fs::set_permissions(&deployment.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let database = deployment.dir.join("tether.db");
    std::fs::write(&database, b"").unwrap();
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let child = deployment.start(&server::seal::Sealer::generate_spec("k1")).await;
    assert_eq!(reqwest::get(format!("{}/healthz", deployment.tether)).await.unwrap().status(), StatusCode::OK);
    kill(child);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&deployment.dir), 0o700);
    assert_eq!(mode(&database), 0o600);
    let log = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    assert!(log.contains("now 0700") && log.contains("now 0600"), "the operator is told: {log}");

    let shared = std::env::temp_dir().join(format!("tether-shared-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = production(&deployment.secret)
        .arg("migrate")
        .env("TETHER_DATA_DIR", &shared)
        .env("TETHER_DATABASE_URL", format!("sqlite://{}/tether.db", shared.display()))
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a shared directory was used");
    assert!(errors.contains("give Tether a directory of its own"), "{errors}");
    assert_eq!(mode(&shared), 0o1777, "left as it was");
    assert!(!shared.join("tether.db").exists(), "nothing written there");
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
    let deployment = Deployment::new().await;
    let tether = &deployment.tether;
    let (k1, k2) = (Sealer::generate_spec("k1"), Sealer::generate_spec("k2"));
    let browser = Deployment::browser();

    // Under k1: an installation (its token) and a new resource (its API key).
    let child = deployment.start(&k1).await;
    let configuration_id = deployment.install(&browser).await;
    let form = [
        ("configuration_id".to_owned(), configuration_id.clone()),
        ("choices[prj_acme001]".to_owned(), "new".to_owned()),
    ];
    let linked = deployment.post(&browser, "link_projects", &form).await;
    assert!(linked.status().is_success() || linked.status().is_redirection());
    kill(child);

    // k1 dropped by mistake: the start says so, and the load balancer hears "not ready".
    let child = deployment.start(&k2).await;
    let ready = browser.get(format!("{tether}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["sealed_under_missing_keys"]["k1"], 2, "{body}");
    kill(child);
    let log = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    assert!(log.contains("no longer configured"), "reported at start");

    // Rotation done right: k2 first, k1 still there; rewrap; then k1 can go.
    let out = production(&deployment.secret)
        .arg("rewrap")
        .env("TETHER_SEAL_KEYS", format!("{k2},{k1}"))
        .env("TETHER_DATA_DIR", &deployment.dir)
        .env("TETHER_DATABASE_URL", database_url(&deployment.dir).await)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("2 re-sealed under `k2`"), "{said}");
    let child = deployment.start(&k2).await;
    assert_eq!(browser.get(format!("{tether}/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let page = browser.get(format!("{tether}/install/{configuration_id}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the token opens under k2 alone");
    kill(child);
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

#[tokio::test]
async fn a_link_cut_by_kill_9_after_vercel_wrote_is_shown_then_finished_or_undone() {
    let deployment = Deployment::new().await;
    let sim = &deployment.sim.sim;
    let keys = server::seal::Sealer::generate_spec("k1");
    let browser = Deployment::browser();
    let project = "prj_acme090";

    let child = deployment.start(&keys).await;
    let configuration_id = deployment.install(&browser).await;
    let form = vec![
        ("configuration_id".to_owned(), configuration_id.clone()),
        (format!("choices[{project}]"), "new".to_owned()),
        ("finish".to_owned(), "1".to_owned()),
    ];
    // Vercel writes the variables, then its answer is held: Tether dies before recording them.
    sim.stall_next("POST", &format!("/v10/projects/{project}/env"), Duration::from_secs(60));
    let pending = {
        let (browser, form, tether) = (browser.clone(), form.clone(), deployment.tether.clone());
        tokio::spawn(async move {
            browser.post(format!("{tether}/api/link_projects")).header(header::ORIGIN, &tether).form(&form).send().await
        })
    };
    for _ in 0..200 {
        if sim.snapshot().env.get(project).is_some_and(|vars| vars.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sim.snapshot().env[project].len(), 3, "Vercel holds the variables");
    kill(child);
    pending.abort();

    // After the restart the Configure page shows what was interrupted.
    let child = deployment.start(&keys).await;
    let configure = format!("{}/configure?configurationId={configuration_id}", deployment.tether);
    let page = browser.get(configure).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("acme-app-090") && page.contains("Interrupted"), "{page}");

    // Connecting again finishes it: no clash with its own variables, and their ids recorded.
    let finished = deployment.post(&browser, "link_projects", &form).await;
    assert!(finished.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "on to the last step");
    assert_eq!(sim.snapshot().env[project].len(), 3, "rewritten in place, not duplicated");

    // And disconnecting removes all three.
    let unlink = [("configuration_id".to_owned(), configuration_id), ("project_id".to_owned(), project.to_owned())];
    let undone = deployment.post(&browser, "unlink_project", &unlink).await;
    assert!(undone.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    assert!(!sim.snapshot().env.contains_key(project), "nothing written at Vercel is forgotten");
    kill(child);
}

#[tokio::test]
async fn disconnecting_an_interrupted_link_removes_the_variables_vercel_marked_as_ours() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // The write succeeds at Vercel but its answer is lost within the request's budget.
    world.sim.sim.stall_next("POST", "/v10/projects/prj_acme091/env", Duration::from_secs(14));
    let response = world.connect(&popup.configuration_id, &[("prj_acme091", "new")]).await;
    assert_eq!(response.headers()[header::LOCATION], format!("/install/{}", popup.configuration_id).as_str());
    assert_eq!(world.sim.sim.snapshot().env["prj_acme091"].len(), 3);
    world.sim.sim.add_manual_env("prj_acme091", "THEIRS", "keep me", &["production"]);
    let response = world
        .post_form("unlink_project", &[("configuration_id", &popup.configuration_id), ("project_id", "prj_acme091")])
        .await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    let left: Vec<_> = world.sim.sim.snapshot().env["prj_acme091"].iter().map(|v| v.key.clone()).collect();
    assert_eq!(left, ["THEIRS"]);
}

#[tokio::test]
async fn a_post_without_origin_headers_needs_the_pages_form_token() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let marker = "name=\"form_token\" value=\"";
    let start = popup.page.find(marker).expect("the form carries a token") + marker.len();
    let token = popup.page[start..].split('"').next().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let post = |form: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        // A browser's plain form: it asks for HTML.
        let mut request = world
            .browser
            .post(format!("{}/api/link_projects", world.tether))
            .header(header::ACCEPT, "text/html")
            .form(&form);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.send()
    };
    let form = |token: &str| {
        vec![
            ("configuration_id", popup.configuration_id.clone()),
            ("choices[prj_acme081]", "new".to_owned()),
            ("finish", "1".to_owned()),
            ("form_token", token.to_owned()),
        ]
    };
    // An old browser (neither Origin nor Sec-Fetch-Site) without the token, or with another's.
    assert_eq!(post(form(""), None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(form(&"0".repeat(64)), None).await.unwrap().status(), StatusCode::FORBIDDEN);
    // The right host with the wrong scheme is another origin.
    let https = world.tether.replace("http://", "https://");
    let https: &'static str = Box::leak(https.into_boxed_str());
    assert_eq!(post(form(&token), Some(https)).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert!(!world.sim.sim.snapshot().env.contains_key("prj_acme081"), "nothing was written");
    // With the page's token, the plain form works.
    let response = post(form(&token), None).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(world.sim.sim.snapshot().env["prj_acme081"].len(), 3);
}

/// Leptos answers a failed plain form with a redirect to the request's `Referer`: whatever a
/// client claims there, Tether's answer stays on its own origin.
#[tokio::test]
async fn a_failed_form_post_never_redirects_where_the_referer_says() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let id = popup.configuration_id.as_str();
    let failing_forms: [(&str, Vec<(&str, &str)>); 5] = [
        ("link_projects", vec![("configuration_id", "icfg_someoneelses")]),
        ("link_projects", vec![("choices[x]", "new")]),
        ("finish_install", vec![("configuration_id", "not an id")]),
        ("rotate_credentials", vec![]),
        ("uninstall", vec![("configuration_id", id)]),
    ];
    for referer in ["https://evil.example/phish", "//evil.example/", "/\\evil.example", "javascript:alert(1)"] {
        for (function, form) in &failing_forms {
            let response = world
                .browser
                .post(format!("{}/api/{function}", world.tether))
                .header(header::ACCEPT, "text/html")
                .header(header::ORIGIN, &world.tether)
                .header(header::REFERER, referer)
                .form(form)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
            if let Some(to) = &location {
                assert!(to.starts_with('/') && !to.starts_with("//") && !to.starts_with("/\\"), "{function}: {to}");
            } else {
                assert!(status.is_client_error(), "{function} with {referer}: {status}");
                let page = response.text().await.unwrap();
                assert!(page.contains("data-failure="), "{function}: a failure page with a way on");
                assert!(!page.contains("evil.example"), "{function}");
            }
        }
    }
    // The hydrated popup's calls (no `text/html`) get the error's own status, not a 500.
    let response = world
        .browser
        .post(format!("{}/api/link_projects", world.tether))
        .header(header::ORIGIN, &world.tether)
        .form(&[("configuration_id", "icfg_someoneelses")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.json::<app::AppError>().await.unwrap(), app::AppError::NotYours);
}

#[tokio::test]
async fn an_injected_code_writes_nothing_until_the_user_confirms_on_a_page_naming_the_team() {
    let world = world().await;
    // An attacker's code, opened in the victim's browser: the callback alone must not write.
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert!(popup.page.contains("Acme Robotics"), "the page names whose projects these are");
    let snapshot = world.sim.sim.snapshot();
    assert!(snapshot.env.is_empty(), "no variable was written");
    assert!(snapshot.calls.iter().all(|c| c.method == "GET" || c.path == "/v2/oauth/access_token"), "only reads");
}

#[tokio::test]
async fn a_token_that_fails_to_open_is_never_sent_to_vercel() {
    use server::seal::Sealer;
    let deployment = Deployment::new().await;
    let browser = Deployment::browser();
    let child = deployment.start(&Sealer::generate_spec("k1")).await;
    let configuration_id = deployment.install(&browser).await;
    kill(child);
    // Same key id, other key bytes: every stored ciphertext fails authentication, as a flipped bit would.
    let child = deployment.start(&Sealer::generate_spec("k1")).await;
    let before = deployment.sim.sim.snapshot().calls.len();
    let page = browser.get(format!("{}/install/{configuration_id}", deployment.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.text().await.unwrap().contains("Return to Vercel"), "a way forward");
    assert_eq!(deployment.sim.sim.snapshot().calls.len(), before, "nothing reached Vercel");
    kill(child);
}

/// A browser that accepts brotli gets the page compressed whole, and it decodes to the same page
/// a browser without brotli gets; one that does not accept it gets plain HTML.
#[tokio::test]
async fn pages_are_sent_brotli_compressed_to_browsers_that_accept_it() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let url = format!("{}/install/{}", world.tether, popup.configuration_id);
    let compressed = world.browser.get(&url).header(header::ACCEPT_ENCODING, "gzip, br").send().await.unwrap();
    assert_eq!(compressed.status(), StatusCode::OK);
    assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(compressed.headers()[header::VARY], "accept-encoding");
    // Compressed whole, not streamed: the length is known before the first byte goes out.
    let length = compressed.content_length().expect("a page compressed whole has a length");
    let body = compressed.bytes().await.unwrap();
    assert_eq!(body.len() as u64, length);
    let mut page = Vec::new();
    brotli::BrotliDecompress(&mut body.as_ref(), &mut page).unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("Acme Robotics"));
    assert!(body.len() * 10 < page.len(), "{} bytes compressed to {}", page.len(), body.len());

    let plain = world.browser.get(&url).header(header::ACCEPT_ENCODING, "identity").send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = plain.text().await.unwrap();
    // The rows are compressed apart and joined to the rest: the same page either way, but for
    // the script nonces each load draws.
    let without_nonce = |page: &str| {
        page.split("nonce=\"").enumerate().fold(String::new(), |mut kept, (i, piece)| {
            kept.push_str(if i == 0 { piece } else { piece.split_once('"').map_or(piece, |(_, rest)| rest) });
            kept
        })
    };
    assert!(page.contains("nonce=\""), "the loader script has a nonce");
    assert_eq!(without_nonce(&page), without_nonce(&plain));
    assert!(plain.contains("Acme Robotics") && plain.matches("<li class=\"project\"").count() > 1);
}
