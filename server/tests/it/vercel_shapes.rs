//! Tether against answers Vercel documents and a kind simulator never gave: cursors of either
//! form, env answers without ids, legacy project ids, missing scopes, Hobby teams, both error
//! shapes, and the outbound rules (no redirects, capped answers, honest retries, a time budget).

use std::time::{Duration, Instant};

use reqwest::{header, StatusCode};
use vercel_sim::{Begin, CallRecord, Canned, Paging};

use crate::support::{icfg, world, World};

fn calls(world: &World, method: &str, path: &str) -> Vec<CallRecord> {
    world.sim.sim.snapshot().calls.into_iter().filter(|c| c.method == method && c.path == path).collect()
}

fn project_list_calls(world: &World) -> (usize, usize) {
    (calls(world, "GET", "/v10/projects").len(), calls(world, "GET", "/v9/projects").len())
}

/// Opens the popup for an account and returns the response of the install page (or of the
/// callback, when it does not redirect).
async fn open(world: &World, begin: Begin<'_>) -> (StatusCode, String) {
    let url = world.sim.sim.begin(&begin).unwrap();
    let response = world.browser.get(&url).send().await.unwrap();
    if response.status() != StatusCode::SEE_OTHER {
        return (response.status(), response.text().await.unwrap());
    }
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let page = world.get(&location).await;
    (page.status(), page.text().await.unwrap())
}

fn account(account_id: &str) -> Begin<'_> {
    Begin { account_id, ..Begin::default() }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn projects_are_paged_with_opaque_from_tokens() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(popup.page.matches(r#"<li class="project"#).count(), vercel_sim::TEAM_PROJECTS);
    assert_eq!(project_list_calls(&world), (3, 0), "250 projects in pages of 100, no request wasted");
}

#[tokio::test]
async fn a_server_that_ignores_from_is_paged_with_until_after_one_wasted_request() {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.paging = Paging::UntilOnly);
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(
        popup.page.matches(r#"<li class="project"#).count(),
        vercel_sim::TEAM_PROJECTS,
        "no project twice or lost"
    );
    assert!(popup.page.contains("acme-app-249"));
    assert_eq!(project_list_calls(&world), (2, 2), "one wasted /v10 request, then /v9 with until");
}

#[tokio::test]
async fn a_cursor_that_never_works_stops_after_two_wasted_requests() {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.paging = Paging::IgnoresCursor);
    let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("GET /v9/projects") && page.contains("already seen"), "{page}");
    let (v10, v9) = project_list_calls(&world);
    assert_eq!(v10 + v9, 3, "the first page and two wasted requests, not 200");
}

#[tokio::test]
async fn env_answers_without_ids_are_completed_from_the_list_so_disconnect_removes_exactly_them() {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.env_answers_without_ids = true);
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.add_manual_env("prj_acme060", "DATABASE_URL", "postgres://mine", &["production"]);
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme060", "new")]).await.status(), StatusCode::FOUND);
    let reads = calls(&world, "GET", "/v10/projects/prj_acme060/env").len();
    assert_eq!(reads, 2, "one read for clashes before writing, one lookup for the missing ids");

    let at_vercel = world.sim.sim.snapshot().env["prj_acme060"].clone();
    let mut theirs: Vec<_> = at_vercel.iter().filter(|v| v.key != "DATABASE_URL").map(|v| v.id.clone()).collect();
    let store = world.store().await;
    let mut ours: Vec<_> =
        store.env_vars_of(&icfg(&popup.configuration_id)).await.unwrap().into_iter().map(|(_, id, _)| id).collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs, "Tether recorded Vercel's ids for exactly what it wrote");

    let response = world
        .post_form("unlink_project", &[("configuration_id", &popup.configuration_id), ("project_id", "prj_acme060")])
        .await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    let left = &world.sim.sim.snapshot().env["prj_acme060"];
    assert_eq!(left.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(), ["DATABASE_URL"], "theirs stays");
}

#[tokio::test]
async fn a_single_created_object_without_id_and_with_a_string_target_is_completed_too() {
    // One template on one target: Vercel's answer may be `created: {key, target: "production"}`.
    let config = "[provider]\n[[provider.env]]\nkey = \"ACME_URL\"\nvalue = \"{url}\"\ntargets = [\"production\"]\n";
    let world = crate::support::world_with(Some(config)).await;
    world.sim.sim.set_quirks(|q| q.env_answers_without_ids = true);
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme061", "new")]).await.status(), StatusCode::FOUND);
    let at_vercel = world.sim.sim.snapshot().env["prj_acme061"].clone();
    assert_eq!(at_vercel.len(), 1);
    let recorded = world.store().await.env_var_ids(&icfg(&popup.configuration_id), "prj_acme061").await.unwrap();
    assert_eq!(recorded, [at_vercel[0].id.clone()], "the id was found from the list");
    let response = world
        .post_form("unlink_project", &[("configuration_id", &popup.configuration_id), ("project_id", "prj_acme061")])
        .await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    assert!(!world.sim.sim.snapshot().env.contains_key("prj_acme061"));
}

#[tokio::test]
async fn a_legacy_project_id_is_preselected_linked_and_unlinked() {
    let world = world().await;
    let legacy = vercel_sim::LEGACY_PROJECT_ID;
    let begin = Begin {
        account_id: vercel_sim::PERSONAL_USER_ID,
        source: "deploy-button",
        current_project_id: Some(legacy),
        ..Begin::default()
    };
    let (status, page) = open(&world, begin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("choices[{legacy}]")), "the legacy project is listed");
    let configuration_id = world.sim.sim.snapshot().installations.last().unwrap().id.clone();
    assert_eq!(world.connect(&configuration_id, &[(legacy, "new")]).await.status(), StatusCode::FOUND);
    assert_eq!(world.sim.sim.snapshot().env[legacy].len(), 3);
    let response =
        world.post_form("unlink_project", &[("configuration_id", &configuration_id), ("project_id", legacy)]).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    assert!(!world.sim.sim.snapshot().env.contains_key(legacy), "every variable Tether wrote is gone");
}

#[tokio::test]
async fn without_the_team_or_user_scope_the_install_page_still_works_and_names_the_scope() {
    let world = world().await;
    world.sim.sim.set_scopes(&["read:project", "read-write:project-env-vars"]);
    let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(vercel_sim::TEAM_ID) && page.contains("read:team"), "the team id and the scope");
    assert_eq!(page.matches(r#"<li class="project"#).count(), vercel_sim::TEAM_PROJECTS);
    // A reload comes from the cache, which keeps the missing scope by its id: the same words.
    let configuration_id = page.split(r#"name="configuration_id" value=""#).nth(1).unwrap().split('"').next().unwrap();
    let calls = world.sim.sim.snapshot().calls.len();
    let again = world.get(&format!("/install/{configuration_id}")).await.text().await.unwrap();
    assert_eq!(world.sim.sim.snapshot().calls.len(), calls, "the reload asked Vercel nothing");
    assert!(again.contains(vercel_sim::TEAM_ID) && again.contains("read:team"), "{again}");

    let (status, page) = open(&world, account(vercel_sim::PERSONAL_USER_ID)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("read:user"), "{page}");
}

#[tokio::test]
async fn a_missing_project_or_env_scope_names_the_scope_and_the_console_setting() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.set_scopes(&["read:project", "read:team", "read:user"]);
    let response = world.connect(&popup.configuration_id, &[("prj_acme070", "new")]).await;
    let page = world.get(response.headers()[header::LOCATION].to_str().unwrap()).await.text().await.unwrap();
    assert!(page.contains("read-write:project-env-vars") && page.contains("API Scopes"), "{page}");
    assert!(!world.sim.sim.snapshot().env.contains_key("prj_acme070"));

    world.sim.sim.set_scopes(&["read:team"]);
    let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("read:project") && page.contains("Integration Console"), "{page}");
}

#[tokio::test]
async fn a_hobby_team_installs_whichever_side_names_the_team() {
    for quirk in ["consistent", "token_omits_team", "callback_omits_team"] {
        let world = world().await;
        world.sim.sim.set_quirks(|q| {
            q.token_omits_team = quirk == "token_omits_team";
            q.callback_omits_team = quirk == "callback_omits_team";
        });
        let (status, page) = open(&world, account(vercel_sim::HOBBY_TEAM_ID)).await;
        assert_eq!(status, StatusCode::OK, "{quirk}: {page}");
        assert!(page.contains("Bob&#x27;s projects") || page.contains("Bob's projects"), "{quirk}");
        let configuration_id = world.sim.sim.snapshot().installations.last().unwrap().id.clone();
        let response = world.connect(&configuration_id, &[("prj_bob000", "new")]).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{quirk}");
        assert_eq!(world.sim.sim.snapshot().env["prj_bob000"].len(), 3, "{quirk}");
        let api = world.sim.sim.snapshot().calls.into_iter().filter(|c| c.path.starts_with("/v"));
        let api: Vec<_> = api.filter(|c| !c.path.starts_with("/v2/oauth")).collect();
        assert!(api.iter().all(|c| c.team_id.as_deref() == Some(vercel_sim::HOBBY_TEAM_ID)), "{quirk}: teamId");
    }
}

#[tokio::test]
async fn a_real_disagreement_between_query_and_token_is_refused() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::HOBBY_TEAM_ID, "marketplace").unwrap();
    let forged = url.replace(vercel_sim::HOBBY_TEAM_ID, vercel_sim::TEAM_ID);
    let response = world.browser.get(&forged).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("does not match"));
    assert_eq!(world.installation_rows().await, 0);
}

#[tokio::test]
async fn an_expired_code_is_recognised_in_either_error_shape() {
    let rest = br#"{"error":{"code":"invalid_grant","message":"Invalid grant: authorization code is invalid"}}"#;
    let oauth = br#"{"error":"invalid_grant","error_description":"Invalid grant: authorization code is invalid"}"#;
    for body in [&rest[..], &oauth[..]] {
        let world = world().await;
        let canned = Canned { status: 400, body: Some(body.to_vec()), ..Canned::default() };
        world.sim.sim.answer_next("POST", "/v2/oauth/access_token", canned);
        let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("has expired") && page.contains("Return to Vercel"), "{page}");
    }
}

/// A listener that counts every connection: where a followed redirect would have gone.
async fn trap() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/steal", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (url, hits)
}

#[tokio::test]
async fn redirects_from_vercel_are_never_followed() {
    let world = world().await;
    let (elsewhere, hits) = trap().await;
    let redirect = || Canned { status: 307, headers: vec![("location".into(), elsewhere.clone())], body: None };
    world.sim.sim.answer_next("POST", "/v2/oauth/access_token", redirect());
    let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("install again"));

    world.sim.sim.answer_next("GET", "/v10/projects", redirect());
    let (status, _) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "neither the secret nor a token went elsewhere");
}

#[tokio::test]
async fn an_oversized_answer_is_refused_without_reading_it_all() {
    let world = world().await;
    let huge = format!("{{\"projects\":[],\"padding\":\"{}\"}}", "x".repeat(9 * 1024 * 1024));
    world.sim.sim.answer_next(
        "GET",
        "/v10/projects",
        Canned { status: 200, body: Some(huge.into()), ..Canned::default() },
    );
    let (status, page) = open(&world, account(vercel_sim::TEAM_ID)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(page.contains("Try again"));
}

#[tokio::test]
async fn retry_after_is_honoured_on_a_429() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // Retry-After alone: no X-RateLimit-Reset on this answer.
    let headers = vec![
        ("retry-after".into(), "2".into()),
        ("x-ratelimit-limit".into(), "120".into()),
        ("x-ratelimit-remaining".into(), "0".into()),
    ];
    world.sim.sim.answer_next("POST", "/v10/projects/", Canned { status: 429, headers, body: None });
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme071", "new")]).await.status(), StatusCode::FOUND);
    let writes = calls(&world, "POST", "/v10/projects/prj_acme071/env");
    assert_eq!(writes.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 201]);
    let waited = writes[1].at_ms - writes[0].at_ms;
    assert!(waited >= 2000, "retried after {waited} ms, before Retry-After's 2 s");
}

#[tokio::test]
async fn refusals_are_not_retried() {
    for status in [401, 403, 404, 409, 410] {
        let world = world().await;
        let popup = world.open_popup(vercel_sim::TEAM_ID).await;
        world.sim.sim.fail_next("POST", "/v10/projects/", status);
        let response = world.connect(&popup.configuration_id, &[("prj_acme072", "new")]).await;
        assert_eq!(response.status(), StatusCode::FOUND, "back to the page");
        assert_eq!(calls(&world, "POST", "/v10/projects/prj_acme072/env").len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn no_sleep_follows_the_last_attempt() {
    let world = world().await;
    for _ in 0..4 {
        world.sim.sim.fail_next("GET", "/v10/projects", 503);
    }
    let (status, _) = open(&world, account(vercel_sim::TEAM_ID)).await;
    let answered = now_ms();
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let last = calls(&world, "GET", "/v10/projects").last().unwrap().at_ms;
    assert_eq!(calls(&world, "GET", "/v10/projects").len(), 4);
    assert!(answered - last < 600, "the page came {} ms after Vercel's last answer", answered - last);
}

#[tokio::test]
async fn a_long_rate_limit_becomes_a_wait_page_not_a_frozen_popup() {
    let world = world().await;
    let reset = (now_ms() / 1000 + 30).to_string();
    let headers = vec![
        ("x-ratelimit-limit".into(), "100".into()),
        ("x-ratelimit-remaining".into(), "0".into()),
        ("x-ratelimit-reset".into(), reset),
    ];
    world.sim.sim.answer_next("GET", "/v10/projects", Canned { status: 429, headers, body: None });
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let location = world.browser.get(&url).send().await.unwrap().headers()[header::LOCATION].clone();
    let started = Instant::now();
    let response = world.get(location.to_str().unwrap()).await;
    assert!(started.elapsed() < Duration::from_secs(10), "the user waited {:?}", started.elapsed());
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 20, "{retry_after}");
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"data-failure="rate-limited""#) && page.contains("Try again"), "{page}");
}

#[tokio::test]
async fn a_stalled_vercel_is_cut_at_the_request_budget() {
    let world = world().await;
    world.sim.sim.stall_next("GET", "/v10/projects", Duration::from_secs(14));
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let location = world.browser.get(&url).send().await.unwrap().headers()[header::LOCATION].clone();
    let started = Instant::now();
    let response = world.get(location.to_str().unwrap()).await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(10_500), "the user waited {waited:?}");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains(r#"data-failure="rate-limited""#));
}

#[tokio::test]
async fn uninstalling_at_vercel_is_followed_by_vercels_signed_webhook() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let response =
        world.post_form("uninstall", &[("configuration_id", &popup.configuration_id), ("confirm", "yes")]).await;
    assert_eq!(response.headers()[header::LOCATION], "/uninstalled");
    let delivery = world
        .sim
        .sim
        .deliveries()
        .into_iter()
        .find(|d| d.kind == "integration-configuration.removed")
        .expect("Vercel announces the removal");
    assert!(world.applied(&delivery.id).await.starts_with("uninstalled"), "applied without a 5xx");
    assert!(world.sim.sim.deliveries().iter().all(|d| d.statuses.iter().all(|s| *s == 200)));
}

#[tokio::test]
async fn the_strict_simulator_refuses_bad_tokens_with_401() {
    let world = world().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v2/user", world.sim.url());
    let bad = client.get(&url).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["invalidToken"], true);
    assert_eq!(client.get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// Installs for the team, then writes env vars straight to the simulator with that
/// installation's token, as Tether would: for rules of the simulator's own.
async fn team_env_writer(
    world: &World,
    project: &str,
) -> impl Fn(serde_json::Value) -> futures::future::BoxFuture<'static, reqwest::Result<reqwest::Response>> {
    world.open_popup(vercel_sim::TEAM_ID).await;
    let token = world.sim.sim.issued_tokens().pop().unwrap();
    let url = format!("{}/v10/projects/{project}/env?upsert=true&teamId={}", world.sim.url(), vercel_sim::TEAM_ID);
    move |body| Box::pin(reqwest::Client::new().post(&url).bearer_auth(&token).json(&body).send())
}

/// Vercel refuses a `comment` over 500 characters in the body's schema check, before writing
/// any item: the simulator plays that strict rule, so a long comment can never pass unnoticed.
#[tokio::test]
async fn the_simulator_refuses_a_comment_over_vercels_limit_and_writes_nothing() {
    let world = world().await;
    let write = team_env_writer(&world, "prj_acme013").await;
    let write = |comment: String| {
        write(serde_json::json!([
            {"key": "FIRST", "value": "1", "type": "plain", "target": ["production"]},
            {"key": "SECOND", "value": "2", "type": "plain", "target": ["production"], "comment": comment},
        ]))
    };
    let refused = write("x".repeat(501)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(world.sim.sim.snapshot().env.get("prj_acme013").is_none_or(Vec::is_empty), "nothing written");
    assert_eq!(write("y".repeat(500)).await.unwrap().status(), StatusCode::CREATED);
    let stored = world.sim.sim.snapshot().env["prj_acme013"].iter().find(|v| v.key == "SECOND").unwrap().clone();
    assert_eq!(stored.comment.as_deref().map(str::len), Some(500));
}

/// A key that exists with overlapping targets (so the upsert cannot replace it) is refused per
/// item, as Vercel does: `ENV_ALREADY_EXISTS`, naming the variable that is there.
#[tokio::test]
async fn the_simulator_names_a_duplicate_key_as_vercel_does() {
    let world = world().await;
    let write = team_env_writer(&world, "prj_acme014").await;
    let write = |target: serde_json::Value| {
        write(serde_json::json!([{"key": "DUP", "value": "1", "type": "plain", "target": target}]))
    };
    let first: serde_json::Value =
        write(serde_json::json!(["production", "preview"])).await.unwrap().json().await.unwrap();
    let existing = first["created"][0]["id"].as_str().unwrap().to_owned();
    let second = write(serde_json::json!(["production"])).await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED, "a 2xx that still refuses an item");
    let second: serde_json::Value = second.json().await.unwrap();
    assert_eq!(second["failed"][0]["error"]["code"], "ENV_ALREADY_EXISTS");
    assert_eq!(second["failed"][0]["error"]["envVarId"], existing.as_str());
}

/// Vercel's reference words `/v10`'s `from` as "projects updated after the given timestamp or
/// continuation token": a timestamp there means newer than it, the opposite of `until`.
#[tokio::test]
async fn the_simulator_reads_a_numeric_from_as_updated_after() {
    let world = world().await;
    world.open_popup(vercel_sim::TEAM_ID).await;
    let token = world.sim.sim.issued_tokens().pop().unwrap();
    let list = |query: String| {
        let url = format!("{}/v10/projects?teamId={}&limit=100{query}", world.sim.url(), vercel_sim::TEAM_ID);
        let request = reqwest::Client::new().get(url).bearer_auth(&token).send();
        async move { request.await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let newest: Vec<i64> = list(String::new()).await["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["updatedAt"].as_i64().unwrap())
        .collect();
    let fifth = newest[4];
    let after = list(format!("&from={fifth}")).await;
    let updated: Vec<i64> =
        after["projects"].as_array().unwrap().iter().map(|p| p["updatedAt"].as_i64().unwrap()).collect();
    assert_eq!(updated, newest[..4], "exactly the projects updated after it, newest first");
}
