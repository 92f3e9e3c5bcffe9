//! What the vendor operating Tether sees: `server --help`, the log lines, the metrics and the
//! operator's endpoints, all from the real binary.

use std::path::Path;

use reqwest::header;

use crate::support::{kill, production, Deployment};

fn rust_sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Every `TETHER_*` name the server's source spells out.
fn variables_in_the_source() -> Vec<String> {
    let mut source = String::new();
    rust_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut source);
    let mut names: Vec<String> = source
        .match_indices("\"TETHER_")
        .map(|(at, _)| {
            let rest = &source[at + 1..];
            let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c == '_')).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The plain form's Connect for one project with a new resource, then back to Vercel.
async fn link_and_finish(deployment: &Deployment, browser: &reqwest::Client, configuration_id: &str) {
    let form = [
        ("configuration_id".to_owned(), configuration_id.to_owned()),
        ("choices[prj_acme001]".to_owned(), "new".to_owned()),
        ("finish".to_owned(), "1".to_owned()),
    ];
    let linked = deployment.post(browser, "link_projects", &form).await;
    assert!(linked.status().is_redirection(), "{}", linked.status());
}

#[test]
fn help_lists_every_subcommand_and_every_setting_with_its_variable_and_default() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for subcommand in ["check-config", "migrate", "rewrap", "provider-check"] {
        assert!(help.contains(&format!("\n  {subcommand} ")), "{subcommand} is listed:\n{help}");
    }
    let names = variables_in_the_source();
    assert!(names.len() >= 20, "the scan found the settings: {names:?}");
    for name in &names {
        assert!(help.contains(name.as_str()), "{name} is read by the server but `server --help` does not list it");
    }
    // Shown with its default, its file key and its variable.
    assert!(help.contains("--addr <VALUE>"));
    assert!(help.contains("[default: 127.0.0.1:3000] [file: [server] addr]"));
    assert!(help.contains("[env: TETHER_ADDR]"));
    // A secret has no flag: the command line is visible to every process on the machine.
    assert!(!help.contains("--vercel-client-secret") && !help.contains("--seal-keys"));
}

#[test]
fn help_never_prints_a_value_from_the_environment() {
    let canary = format!("canary-{}", rand::random::<u64>());
    let output = production(&canary)
        .env("TETHER_CLIENT_IP_HEADER", &canary)
        .env("TETHER_DATABASE_URL", format!("postgres://u:{canary}@db/x"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("TETHER_CLIENT_IP_HEADER"));
    assert!(!help.contains(&canary), "no value from the environment is shown");
}

#[test]
fn a_flag_beats_the_environment() {
    let secret = format!("canary-{}", rand::random::<u64>());
    let output = production(&secret)
        .env("TETHER_PUBLIC_URL", "https://from-env.example")
        .args(["--public-url", "https://from-flag.example", "check-config"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("https://from-flag.example/callback"), "{report}");
    assert!(!report.contains("from-env"), "{report}");
}

/// One JSON object per line, chosen in the settings file; a line per request with its method,
/// route, status and latency; the installation on every line of an install's requests; never a
/// query string.
#[tokio::test]
async fn the_settings_files_log_format_gives_one_json_object_per_line_with_the_installation() {
    let deployment = Deployment::new().await;
    let settings = deployment.dir.join("settings.toml");
    std::fs::write(&settings, "[server]\nlog_format = \"json\"\n").unwrap();
    let mut command = production(&deployment.secret);
    command.env("TETHER_CONFIG", &settings);
    let child =
        crate::support::serve_logged_in(&mut command, deployment.port, &deployment.sim.url(), &deployment.dir).await;

    let browser = Deployment::browser();
    let callback = deployment.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let redirect = browser.get(&callback).send().await.unwrap();
    let configuration_id =
        redirect.headers()[header::LOCATION].to_str().unwrap().trim_start_matches("/install/").to_owned();
    let page = browser.get(format!("{}/install/{configuration_id}", deployment.tether)).send().await.unwrap();
    assert!(page.status().is_success());
    link_and_finish(&deployment, &browser, &configuration_id).await;
    kill(child);

    let output = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    let lines: Vec<serde_json::Value> = output
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    let answered: Vec<&serde_json::Value> = lines.iter().filter(|l| l["fields"]["message"] == "answered").collect();
    let of_route =
        |route: &str| answered.iter().copied().filter(move |l| l["span"]["route"] == route).collect::<Vec<_>>();
    let callbacks = of_route("/callback");
    assert_eq!(callbacks.len(), 1, "one line for the callback: {output}");
    assert_eq!(callbacks[0]["fields"]["status"], 303);
    assert_eq!(callbacks[0]["span"]["status"], 303, "the span holds the whole request");
    assert_eq!(callbacks[0]["span"]["method"], "GET");
    assert!(callbacks[0]["fields"]["latency_ms"].as_f64().is_some());
    for route in ["/callback", "/install/{configuration_id}", "/api/{*fn_name}"] {
        let lines = of_route(route);
        assert!(!lines.is_empty(), "{route} was answered: {output}");
        for line in lines {
            assert_eq!(line["span"]["installation"], configuration_id.as_str(), "{route}: {line}");
        }
    }
    // Every line logged inside those requests names the installation, not only the last one.
    let inside: Vec<_> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "request" && l["span"]["route"] != "/healthz")
        .filter(|l| l["fields"]["message"] != "answered")
        .collect();
    assert!(!inside.is_empty(), "the handlers logged something: {output}");
    for line in inside {
        assert_eq!(line["span"]["installation"], configuration_id.as_str(), "{line}");
    }
    assert!(!output.contains(&code), "the code in the callback's query is never logged");
    assert!(!output.contains("code=") && !output.contains("next="), "no query string is logged: {output}");
}

const TOKEN: &str = "operator-token-0123456789abcdef0123456789";

/// An operator's GET with the bearer token, or with `token` in its place.
async fn operator_get(tether: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{tether}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The value of one series in Prometheus's text format, if present.
fn series(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[tokio::test]
async fn without_a_token_the_operator_endpoints_do_not_exist() {
    let deployment = Deployment::new().await;
    let child = deployment.start(&server::seal::Sealer::generate_spec("k1")).await;
    for path in ["/metrics", "/operator"] {
        let response = operator_get(&deployment.tether, path, Some(TOKEN)).await;
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    let replay = reqwest::Client::new()
        .post(format!("{}/operator/webhooks/evt_1/replay", deployment.tether))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), reqwest::StatusCode::NOT_FOUND);
    kill(child);
}

#[test]
fn a_short_or_empty_operator_token_stops_the_server() {
    for token in ["", "short-token"] {
        let output = production("s").env("TETHER_OPERATOR_TOKEN", token).arg("check-config").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{token:?}");
        let errors = String::from_utf8(output.stderr).unwrap();
        assert!(errors.contains("TETHER_OPERATOR_TOKEN must be at least 32 characters"), "{errors}");
    }
}

/// Installs, Vercel calls (a rate limit among them) and webhooks, counted as they happened.
#[tokio::test]
async fn metrics_count_installs_vercel_calls_retries_and_webhooks() {
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let child = deployment.start_with(&keys, &[("TETHER_OPERATOR_TOKEN", TOKEN)]).await;
    let tether = &deployment.tether;
    for token in [None, Some("operator-token-0123456789abcdef012345678X")] {
        let refused = operator_get(tether, "/metrics", token).await;
        assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    let browser = Deployment::browser();
    let configuration_id = deployment.install(&browser).await;
    deployment.sim.sim.fail_next("POST", "/v10/projects/", 429);
    link_and_finish(&deployment, &browser, &configuration_id).await;
    let body = serde_json::to_vec(&serde_json::json!({
        "id": "evt_metrics", "type": "project.created", "createdAt": 1,
        "payload": {"configuration": {"id": configuration_id}, "project": {"id": "prj_new", "name": "new"}}
    }))
    .unwrap();
    let signed = server::webhook::verify::sign(&body, &deployment.secret);
    for signature in [Some(signed.as_str()), Some("0000"), Some(signed.as_str())] {
        let mut request = reqwest::Client::new().post(format!("{tether}/webhooks/vercel")).body(body.clone());
        if let Some(signature) = signature {
            request = request.header("x-vercel-signature", signature);
        }
        request.send().await.unwrap();
    }
    let store = deployment.store().await;
    for _ in 0..100 {
        if store.event_state("evt_metrics").await.unwrap().is_some_and(|(state, _)| state == "done") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let response = operator_get(tether, "/metrics", Some(TOKEN)).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let metrics = response.text().await.unwrap();
    let value =
        |series_name: &str| series(&metrics, series_name).unwrap_or_else(|| panic!("{series_name}:\n{metrics}"));
    assert_eq!(value(r#"tether_installs_total{flow="marketplace",outcome="started",reason=""}"#), 1.0);
    assert_eq!(value(r#"tether_installs_total{flow="marketplace",outcome="completed",reason=""}"#), 1.0);
    assert_eq!(value(r#"tether_project_links_total{outcome="linked"}"#), 1.0);
    assert_eq!(value(r#"tether_vercel_requests_total{endpoint="POST /v2/oauth/access_token",status="200"}"#), 1.0);
    assert_eq!(value(r#"tether_vercel_requests_total{endpoint="POST /v10/projects/{id}/env",status="429"}"#), 1.0);
    assert_eq!(value(r#"tether_vercel_requests_total{endpoint="POST /v10/projects/{id}/env",status="201"}"#), 1.0);
    assert_eq!(
        value(r#"tether_vercel_retries_total{endpoint="POST /v10/projects/{id}/env",reason="rate_limited"}"#),
        1.0
    );
    assert_eq!(value(r#"tether_vercel_request_duration_seconds_count{endpoint="POST /v10/projects/{id}/env"}"#), 2.0);
    assert!(metrics
        .contains(r#"tether_vercel_request_duration_seconds_bucket{endpoint="POST /v10/projects/{id}/env",le="0.1"}"#));
    assert_eq!(value(r#"tether_webhook_events_total{type="project.created",outcome="stored"}"#), 1.0);
    assert_eq!(value(r#"tether_webhook_events_total{type="project.created",outcome="duplicate"}"#), 1.0);
    assert_eq!(value(r#"tether_webhook_events_total{type="other",outcome="rejected"}"#), 1.0);
    assert_eq!(value(r#"tether_webhook_events_total{type="project.created",outcome="applied"}"#), 1.0);
    assert_eq!(value("tether_webhook_inbox_depth"), 0.0);
    assert_eq!(value("tether_webhook_oldest_unapplied_age_seconds"), 0.0);
    assert!(!metrics.contains(&configuration_id), "no installation id is a label");
    kill(child);
}

/// A webhook event that failed every attempt shows as parked, with its error, and the operator
/// replays it: the worker applies it, and it is parked no more.
#[tokio::test]
async fn a_parked_webhook_is_listed_and_replayed() {
    let deployment = Deployment::new().await;
    // Parked before the server starts, so its worker cannot apply the event first.
    let store = deployment.store().await;
    let body = r#"{"id":"evt_parked","type":"project.removed","createdAt":1,"payload":{"project":{"id":"prj_x"}}}"#;
    let event = server::store::inbox::NewEvent {
        id: "evt_parked",
        kind: "project.removed",
        configuration_id: Some("icfg_parked"),
        body,
        created_at: server::store::now_ms(),
    };
    assert_eq!(store.store_events(&[event]).await.unwrap(), [true]);
    for attempts in 0..server::store::inbox::MAX_ATTEMPTS {
        let stored = server::store::inbox::StoredEvent {
            id: "evt_parked".into(),
            kind: "project.removed".into(),
            body: body.into(),
            created_at: 1,
            attempts,
        };
        store.event_failed(&stored, "the database was locked").await.unwrap();
    }
    assert_eq!(store.event_state("evt_parked").await.unwrap().unwrap().0, "failed");

    let keys = server::seal::Sealer::generate_spec("k1");
    let child = deployment.start_with(&keys, &[("TETHER_OPERATOR_TOKEN", TOKEN)]).await;
    let tether = &deployment.tether;
    let overview: serde_json::Value = operator_get(tether, "/operator", Some(TOKEN)).await.json().await.unwrap();
    let parked = &overview["webhooks"]["parked"];
    assert_eq!(parked.as_array().unwrap().len(), 1, "{overview}");
    assert_eq!(parked[0]["id"], "evt_parked");
    assert_eq!(parked[0]["type"], "project.removed");
    assert_eq!(parked[0]["attempts"], server::store::inbox::MAX_ATTEMPTS);
    assert_eq!(parked[0]["outcome"], "the database was locked");
    assert_eq!(overview["webhooks"]["inbox"]["parked"], 1);
    assert!(!overview.to_string().contains("prj_x"), "an event's body is not shown");
    let metrics = operator_get(tether, "/metrics", Some(TOKEN)).await.text().await.unwrap();
    assert_eq!(series(&metrics, "tether_webhook_parked"), Some(1.0), "{metrics}");

    let replay = |id: &'static str| {
        reqwest::Client::new().post(format!("{tether}/operator/webhooks/{id}/replay")).bearer_auth(TOKEN).send()
    };
    assert_eq!(replay("evt_unknown").await.unwrap().status(), reqwest::StatusCode::NOT_FOUND);
    let unauthorized =
        reqwest::Client::new().post(format!("{tether}/operator/webhooks/evt_parked/replay")).send().await.unwrap();
    assert_eq!(unauthorized.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(replay("evt_parked").await.unwrap().status(), reqwest::StatusCode::ACCEPTED);
    let mut state = String::new();
    for _ in 0..100 {
        state = store.event_state("evt_parked").await.unwrap().unwrap().0;
        if state == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done", "the worker applied the replayed event");
    let overview: serde_json::Value = operator_get(tether, "/operator", Some(TOKEN)).await.json().await.unwrap();
    assert_eq!(overview["webhooks"]["parked"].as_array().unwrap().len(), 0, "{overview}");
    assert_eq!(replay("evt_parked").await.unwrap().status(), reqwest::StatusCode::NOT_FOUND, "replayed once");
    kill(child);
}

/// The overview lists installations and the projects whose link failed.
#[tokio::test]
async fn the_overview_lists_installations_and_recent_failures() {
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let child = deployment.start_with(&keys, &[("TETHER_OPERATOR_TOKEN", TOKEN)]).await;
    let browser = Deployment::browser();
    let configuration_id = deployment.install(&browser).await;
    // Every attempt at the env write fails: the link fails and says why.
    for _ in 0..4 {
        deployment.sim.sim.fail_next("POST", "/v10/projects/", 500);
    }
    let form = [
        ("configuration_id".to_owned(), configuration_id.clone()),
        ("choices[prj_acme002]".to_owned(), "new".to_owned()),
    ];
    deployment.post(&browser, "link_projects", &form).await;
    let overview: serde_json::Value =
        operator_get(&deployment.tether, "/operator", Some(TOKEN)).await.json().await.unwrap();
    assert_eq!(overview["installations"]["by_status"]["active"], 1, "{overview}");
    let recent = &overview["installations"]["recent"][0];
    assert_eq!(recent["configuration_id"], configuration_id.as_str());
    assert_eq!(recent["source"], "marketplace");
    let failed = &overview["recent_failures"]["links"];
    assert_eq!(failed.as_array().unwrap().len(), 1, "{overview}");
    assert_eq!(failed[0]["project_id"], "prj_acme002");
    assert!(failed[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{overview}");
    let text = overview.to_string();
    assert!(!text.contains(&deployment.secret) && !text.contains("sealed"), "nothing secret: {text}");
    kill(child);
}
