//! How Tether behaves when Vercel misbehaves: rate limits, server errors, a failed exchange, and
//! a 2xx env answer that still carries failures.

use reqwest::{header, StatusCode};

use crate::support::world;

const ENV_WRITE: &str = "/v10/projects/";

fn env_writes(world: &crate::support::World, project: &str) -> Vec<vercel_sim::CallRecord> {
    let path = format!("/v10/projects/{project}/env");
    world.sim.sim.snapshot().calls.into_iter().filter(|c| c.method == "POST" && c.path == path).collect()
}

#[tokio::test]
async fn a_rate_limited_env_write_waits_for_the_reset_then_succeeds() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.fail_next("POST", ENV_WRITE, 429);
    let response = world.connect(&popup.configuration_id, &[("prj_acme003", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND, "the install still completes");
    let writes = env_writes(&world, "prj_acme003");
    assert_eq!(writes.iter().map(|c| c.status).collect::<Vec<_>>(), [429, 201], "one wait, no burst");
    // The simulator's reset is the next whole second after the 429, at least.
    let reset_ms = (writes[0].at_ms / 1000 + 1) * 1000;
    assert!(writes[1].at_ms >= reset_ms, "retried at {} before the reset at {reset_ms}", writes[1].at_ms);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.fail_next("POST", ENV_WRITE, 500);
    world.sim.sim.fail_next("POST", ENV_WRITE, 503);
    let response = world.connect(&popup.configuration_id, &[("prj_acme004", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let statuses: Vec<_> = env_writes(&world, "prj_acme004").iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 503, 201]);
    assert_eq!(world.sim.sim.snapshot().env["prj_acme004"].len(), 3, "one set of variables");
}

#[tokio::test]
async fn a_failed_exchange_is_never_retried_and_stores_nothing() {
    let world = world().await;
    world.sim.sim.fail_next("POST", "/v2/oauth/access_token", 500);
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let response = world.browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers().get(header::SET_COOKIE).is_none(), "no session for a failed install");
    let body = response.text().await.unwrap();
    assert!(body.contains("install again") && body.contains("Return to Vercel"), "{body}");
    assert!(body.contains(r#"data-failure="vercel-unreachable""#) && !body.contains("Try again"), "{body}");
    let exchanges = world.sim.sim.snapshot().calls.iter().filter(|c| c.path == "/v2/oauth/access_token").count();
    assert_eq!(exchanges, 1, "the single-use code is sent once");
}

#[tokio::test]
async fn refused_keys_in_a_2xx_answer_are_reported_not_taken_as_success() {
    // Vercel names the refused key `key`, or `envVarKey` in newer answers.
    for field in ["key", "envVarKey"] {
        let world = world().await;
        let popup = world.open_popup(vercel_sim::TEAM_ID).await;
        // Vercel answers 201 yet refuses one key in `failed[]`.
        let body = format!(
            r#"{{"created":[],"failed":[{{"error":{{"code":"ENV_ALREADY_EXISTS","envVarId":"env_theirs","message":"A variable with the name `ACME_URL` already exists","{field}":"ACME_URL"}}}}]}}"#
        );
        let canned = vercel_sim::Canned { status: 201, body: Some(body.into_bytes()), ..Default::default() };
        world.sim.sim.answer_next("POST", ENV_WRITE, canned);
        let response = world.connect(&popup.configuration_id, &[("prj_acme005", "new")]).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{field}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(location, format!("/install/{}", popup.configuration_id), "back to the page, not to Vercel");
        let page = world.browser.get(format!("{}{location}", world.tether)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Vercel refused ACME_URL"), "{field}: the refused key is named");
        let installed = world.sim.sim.snapshot().installations.last().unwrap().completed_at;
        assert!(installed.is_none(), "the popup did not go to next");
    }
}

#[tokio::test]
async fn a_lost_exchange_answer_ends_in_a_restart_page_without_a_retry() {
    let world = world().await;
    // Vercel spends the code but its answer never arrives in time.
    world.sim.sim.stall_next("POST", "/v2/oauth/access_token", std::time::Duration::from_secs(30));
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let started = std::time::Instant::now();
    let response = world.browser.get(&url).send().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("install again"));
    assert!(waited < std::time::Duration::from_secs(10), "the user waited {waited:?}");
    assert_eq!(world.sim.sim.snapshot().exchanges, 1, "never retried");
    let configuration_id = url.split("configurationId=").nth(1).unwrap().split('&').next().unwrap();
    let page = world.browser.get(format!("{}/install/{configuration_id}", world.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND, "no half-written installation");
}

/// The most env writes that were at Vercel at the same moment, from the simulator's call log.
fn most_in_flight(world: &crate::support::World) -> usize {
    let writes: Vec<(i64, i64)> = world
        .sim
        .sim
        .snapshot()
        .calls
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/env"))
        .map(|c| (c.at_ms, c.done_ms))
        .collect();
    writes.iter().map(|(start, _)| writes.iter().filter(|(s, e)| s <= start && start < e).count()).max().unwrap_or(0)
}

/// A team's popup whose env writes each take 300 ms at Vercel, so that writes overlap visibly.
async fn popup_with_slow_env_writes() -> (crate::support::World, crate::support::Installed) {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.env_write_latency = std::time::Duration::from_millis(300));
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    (world, popup)
}

#[tokio::test]
async fn linking_many_projects_keeps_a_few_env_writes_in_flight_never_more() {
    let (world, popup) = popup_with_slow_env_writes().await;
    let projects: Vec<String> = (40..52).map(|n| format!("prj_acme{n:03}")).collect();
    let choices: Vec<(&str, &str)> = projects.iter().map(|p| (p.as_str(), "new")).collect();
    assert_eq!(world.connect(&popup.configuration_id, &choices).await.status(), StatusCode::FOUND);
    let most = most_in_flight(&world);
    assert!(most >= 2, "writes overlap: {most} at most were in flight");
    assert!(most <= 4, "bounded: {most} were in flight at once");
}

/// The hydrated popup sends each project in its own request, more of them in flight than the
/// bound: the server still works on at most four of an installation's projects at once.
#[tokio::test]
async fn one_project_per_request_many_requests_still_keep_four_env_writes_in_flight_at_most() {
    let (world, popup) = popup_with_slow_env_writes().await;
    let projects: Vec<String> = (40..50).map(|n| format!("prj_acme{n:03}")).collect();
    let choices: Vec<[(&str, &str); 1]> = projects.iter().map(|p| [(p.as_str(), "new")]).collect();
    let requests = choices.iter().map(|choice| world.connect(&popup.configuration_id, choice));
    let answers = futures::future::join_all(requests).await;
    assert!(answers.iter().all(|a| a.status() == StatusCode::FOUND), "every project linked");
    let most = most_in_flight(&world);
    assert!(most >= 3, "requests overlap: {most} at most were in flight");
    assert!(most <= 4, "bounded across requests: {most} were in flight at once");
    assert_eq!(world.sim.sim.snapshot().env.len(), projects.len());
}
