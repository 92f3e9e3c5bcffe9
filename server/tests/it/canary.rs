//! Secrets never leave their place: with unique canary values for the client secret, and the
//! simulator's random token and code, run an install, a link, the Configure page and a webhook
//! against the real binary at RUST_LOG=trace, then search its output, every response and the
//! database files. The code may appear only as its hash.

use std::time::Duration;

use reqwest::{header, StatusCode};
use server::webhook::verify::sign;

use crate::support::{production, serve_logged_in, stored_bytes, Deployment};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn token_secret_and_code_appear_nowhere() {
    let deployment = Deployment::new().await;
    let (secret, tether, sim, dir) = (&deployment.secret, &deployment.tether, &deployment.sim, &deployment.dir);
    // Production mode: real credentials from the environment, Vercel played by the simulator.
    let mut command = production(secret);
    command.env("RUST_LOG", "trace");
    let mut child = serve_logged_in(&mut command, deployment.port, &sim.url(), dir).await;
    let browser = Deployment::browser();

    let mut responses: Vec<u8> = Vec::new();
    let callback = sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let code = callback.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let first = browser.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let location = first.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let configuration_id = location.trim_start_matches("/install/").to_owned();
    responses.extend(format!("{:?}", first.headers()).as_bytes());
    // Production mode has no demo resources: create one for the project.
    let pages = [location.clone(), format!("/configure?configurationId={configuration_id}")];
    let linked = browser
        .post(format!("{tether}/api/link_projects"))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, tether)
        .form(&[("configuration_id", configuration_id.as_str()), ("choices[prj_acme001]", "new"), ("finish", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::FOUND);
    responses.extend(format!("{:?}", linked.headers()).as_bytes());
    for page in pages {
        let response = browser.get(format!("{tether}{page}")).send().await.unwrap();
        responses.extend(format!("{:?}", response.headers()).as_bytes());
        responses.extend(response.bytes().await.unwrap());
    }
    let body = serde_json::to_vec(&serde_json::json!({
        "id": "evt_canary", "type": "integration-configuration.removed", "createdAt": 1,
        "payload": {"configuration": {"id": configuration_id}}
    }))
    .unwrap();
    let hook = reqwest::Client::new()
        .post(format!("{tether}/webhooks/vercel"))
        .header("x-vercel-signature", sign(&body, secret))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let token = sim.sim.issued_tokens().pop().unwrap();
    let output = std::fs::read(dir.join("output.log")).unwrap();
    assert!(contains(&output, "webhook applied"), "the run reached the webhook worker");
    // Positive controls: the search does find what is meant to be there.
    assert!(contains(&output, "TRACE"), "trace logging was on");
    assert!(contains(&output, &configuration_id));
    let database = stored_bytes(dir).await;
    assert!(contains(&database, &configuration_id));
    for (place, bytes) in [("output", &output), ("responses", &responses), ("database", &database)] {
        assert!(!contains(bytes, &token), "the token is in the {place}");
        assert!(!contains(bytes, secret), "the client secret is in the {place}");
        assert!(!contains(bytes, &code), "the code is in the {place}");
    }
}
