//! Two Tether processes behind an imaginary load balancer, sharing one database (a PostgreSQL
//! database in that pass, one SQLite file otherwise): whatever either instance needs to go on
//! lives in the database or in the browser's cookies, never in one process's memory.

use std::collections::{HashMap, HashSet};

use futures::{stream, StreamExt};
use reqwest::{header, StatusCode};
use server::webhook::verify::sign;
use vercel_sim::Begin;

use crate::support::{database_url, kill, production, Deployment};

#[tokio::test]
async fn an_install_begun_on_one_instance_finishes_on_the_other() {
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let a = deployment.start(&keys).await;
    let (b, b_url, _) = deployment.start_another(&keys, &[]).await;
    let a_url = deployment.tether.clone();
    let browser = Deployment::browser();

    // The external flow: its state cookie comes from A, the callback lands on B.
    let start = browser.get(format!("{a_url}/install/start")).send().await.unwrap();
    let state = start.headers()[header::LOCATION].to_str().unwrap().split("state=").nth(1).unwrap().to_owned();
    let begin = Begin { account_id: vercel_sim::TEAM_ID, source: "external", state: Some(&state), ..Begin::default() };
    let callback = deployment.sim.sim.begin(&begin).unwrap().replace(&a_url, &b_url);
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::SEE_OTHER, "B accepts A's state");
    let install_page = landed.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let configuration_id = install_page.trim_start_matches("/install/").to_owned();

    // B's session works on A, and the same Connect goes through either.
    let page = browser.get(format!("{a_url}{install_page}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "A knows B's session");
    let connect = |base: &str, project: &str| {
        browser
            .post(format!("{base}/api/link_projects"))
            .header(header::ACCEPT, "text/html")
            .header(header::ORIGIN, &a_url)
            .form(&[("configuration_id", configuration_id.as_str()), (&format!("choices[{project}]"), "new")])
            .send()
    };
    assert_eq!(connect(&b_url, "prj_acme001").await.unwrap().status(), StatusCode::FOUND);
    assert_eq!(connect(&a_url, "prj_acme002").await.unwrap().status(), StatusCode::FOUND);
    let finish = browser
        .post(format!("{a_url}/api/finish_install"))
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, &a_url)
        .form(&[("configuration_id", configuration_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(finish.status(), StatusCode::FOUND);
    let done = finish.headers()[header::LOCATION].to_str().unwrap();
    let page = browser.get(format!("{a_url}{done}")).send().await.unwrap().text().await.unwrap();
    let next = crate::support::return_link(&page);
    assert!(next.starts_with(&deployment.sim.url()), "the popup returns to Vercel: {next}");

    let at_vercel = deployment.sim.sim.snapshot().env;
    for project in ["prj_acme001", "prj_acme002"] {
        assert!(!at_vercel[project].is_empty(), "{project} has its variables");
    }
    let configure = browser.get(format!("{b_url}/configure?configurationId={configuration_id}")).send().await.unwrap();
    let text = configure.text().await.unwrap();
    assert!(text.contains("acme-001") || text.contains("prj_acme001"), "B shows what A linked");
    kill(a);
    kill(b);
}

/// The webhook deliveries: 1,000 events spread over both instances, a tenth of them delivered
/// again to the other (as Vercel retries), and one instance killed half way. The deliveries the
/// dead instance refused are retried on the live one, as Vercel would.
#[tokio::test]
async fn webhooks_over_two_instances_are_applied_exactly_once_through_a_kill() {
    const EVENTS: usize = 1_000;
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let json_logs = [("TETHER_LOG_FORMAT", "json")];
    let a = deployment.start_with(&keys, &json_logs).await;
    let (b, b_url, b_log) = deployment.start_another(&keys, &json_logs).await;
    let a_url = deployment.tether.clone();
    let client = reqwest::Client::new();
    let body = |n: usize| {
        serde_json::to_vec(&serde_json::json!({
            "id": format!("evt_multi_{n:04}"), "type": "deployment.created", "createdAt": 1_000 + n,
            "payload": {"project": {"id": format!("prj_acme{:03}", n % 50)}, "team": {"id": vercel_sim::TEAM_ID},
                        "deployment": {"id": format!("dpl_{n}"), "url": format!("d{n}.example.com")}}
        }))
        .unwrap()
    };
    let deliver = |base: String, body: Vec<u8>| {
        let signature = sign(&body, &deployment.secret);
        let request = client.post(format!("{base}/webhooks/vercel")).header("x-vercel-signature", signature).body(body);
        async move { request.send().await.map(|r| r.status()).unwrap_or(StatusCode::BAD_GATEWAY) }
    };

    let mut b = Some(b);
    let mut refused = Vec::new();
    for half in [0..EVENTS / 2, EVENTS / 2..EVENTS] {
        let outcomes: Vec<(usize, StatusCode)> = stream::iter(half.flat_map(|n| {
            let own = if n % 2 == 0 { a_url.clone() } else { b_url.clone() };
            let other = if n % 2 == 0 { b_url.clone() } else { a_url.clone() };
            let again = (n % 10 == 0).then_some((n, other));
            std::iter::once((n, own)).chain(again)
        }))
        .map(|(n, base)| {
            let delivery = deliver(base, body(n));
            async move { (n, delivery.await) }
        })
        .buffer_unordered(8)
        .collect()
        .await;
        refused.extend(outcomes.into_iter().filter(|(_, status)| *status != StatusCode::OK).map(|(n, _)| n));
        if let Some(b) = b.take() {
            assert!(refused.is_empty(), "both instances acknowledge while both run: {refused:?}");
            kill(b); // SIGKILL, with whatever B's worker had in hand
        }
    }
    assert!(!refused.is_empty(), "deliveries to the dead instance failed, as they would at Vercel");
    for n in refused.iter().copied().collect::<HashSet<_>>() {
        assert_eq!(deliver(a_url.clone(), body(n)).await, StatusCode::OK, "the retry of evt {n} on A");
    }

    let store = deployment.store().await;
    let mut pending: HashSet<String> = (0..EVENTS).map(|n| format!("evt_multi_{n:04}")).collect();
    for _ in 0..600 {
        let mut done = Vec::new();
        for id in &pending {
            if store.event_state(id).await.unwrap().is_some_and(|(state, _)| state == "done") {
                done.push(id.clone());
            }
        }
        pending.retain(|id| !done.contains(id));
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(pending.is_empty(), "{} events never applied, e.g. {:?}", pending.len(), pending.iter().next());
    kill(a);

    // Each application is logged by the instance that made it, after its commit.
    let mut applied: HashMap<String, usize> = HashMap::new();
    for log in [deployment.dir.join("output.log"), b_log] {
        for line in std::fs::read_to_string(log).unwrap().lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if entry["fields"]["message"] == "webhook applied" {
                *applied.entry(entry["fields"]["event_id"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
    }
    let twice: Vec<_> = applied.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    // The kill can fall between one commit and its log line, and B applies one event at a time.
    let unlogged = (0..EVENTS).filter(|n| !applied.contains_key(&format!("evt_multi_{n:04}"))).count();
    assert!(unlogged <= 1, "{unlogged} applied events have no log line");
    println!(
        "{EVENTS} events, {} deliveries refused by the killed instance and retried; each applied once",
        refused.len()
    );
}

/// One client's allowance is one, whichever instance the balancer sends it to.
#[tokio::test]
async fn a_rate_limit_spent_on_one_instance_holds_on_the_other() {
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let a = deployment.start(&keys).await;
    let (b, b_url, _) = deployment.start_another(&keys, &[]).await;
    let client = reqwest::Client::new();
    let burst = server::limits::CALLBACK.burst as usize;
    for n in 0..burst {
        let base = if n % 2 == 0 { &deployment.tether } else { &b_url };
        let status = client.get(format!("{base}/callback?code=spent")).send().await.unwrap().status();
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "request {n} is within the burst");
    }
    for base in [&deployment.tether, &b_url] {
        let response = client.get(format!("{base}/callback?code=spent")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{base} knows the allowance is spent");
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
    kill(a);
    kill(b);
}

/// The operator's way: migrations once by `server migrate`, then instances that do not migrate.
/// An instance never serves a database that lacks its migrations.
#[tokio::test]
async fn instances_that_do_not_migrate_wait_for_server_migrate() {
    let deployment = Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let run = |args: &[&str]| {
        let mut command = production(&deployment.secret);
        command
            .args(args)
            .env("TETHER_SEAL_KEYS", &keys)
            .env("TETHER_DATA_DIR", &deployment.dir)
            .env("TETHER_ADDR", format!("127.0.0.1:{}", deployment.port))
            .env("TETHER_MIGRATE_AT_START", "false");
        command
    };
    let database_url = database_url(&deployment.dir).await;
    let refused = run(&[]).env("TETHER_DATABASE_URL", &database_url).output().unwrap();
    assert!(!refused.status.success(), "an unmigrated database is not served");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("run `server migrate`"));

    let migrated = run(&["migrate"]).env("TETHER_DATABASE_URL", &database_url).output().unwrap();
    let said = String::from_utf8_lossy(&migrated.stdout);
    assert!(migrated.status.success(), "{said} {}", String::from_utf8_lossy(&migrated.stderr));
    // Every migration this build has, numbered from 1.
    let count = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count() as i64;
    let all: Vec<i64> = (1..=count).collect();
    assert!(said.contains(&format!("applied {all:?}")), "{said}");
    let again = run(&["migrate"]).env("TETHER_DATABASE_URL", &database_url).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("already current"));

    let child = deployment.start_with(&keys, &[("TETHER_MIGRATE_AT_START", "false")]).await;
    let ready = reqwest::get(format!("{}/readyz", deployment.tether)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["migrations"], "current", "{body}");
    kill(child);
}
