//! Webhooks as Vercel sends them: signed by the simulator, verified on the raw bytes, stored
//! once, applied once, in any order, across restarts.

use std::{process::Stdio, time::Duration};

use reqwest::StatusCode;
use serde_json::json;
use server::webhook::verify::sign;

use crate::support::{database_url, icfg, world};

const SECRET: &str = vercel_sim::DEFAULT_CLIENT_SECRET;

fn event(id: &str, kind: &str, payload: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "type": kind, "createdAt": server::store::now_ms(), "payload": payload}))
        .unwrap()
}

async fn wait_for_delivery(world: &crate::support::World, kind: &str) -> String {
    for _ in 0..200 {
        if let Some(d) = world.sim.sim.deliveries().into_iter().find(|d| d.kind == kind && d.statuses.contains(&200)) {
            return d.id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no successful {kind} delivery");
}

#[tokio::test]
async fn a_deployment_is_recorded_once_however_often_it_is_delivered() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.connect(&popup.configuration_id, &[("prj_acme070", "new")]).await;
    world.sim.sim.deploy("prj_acme070").unwrap();
    let first = wait_for_delivery(&world, "deployment.created").await;
    let id = wait_for_delivery(&world, "deployment.succeeded").await;
    world.applied(&first).await;
    assert!(world.applied(&id).await.contains("1 link"));
    let store = world.store().await;
    let events = store.count_events().await.unwrap();

    // Ten times in a row, then ten at once: acknowledged, never stored or applied again.
    for _ in 0..10 {
        assert!(world.sim.sim.deliver(&id, false));
    }
    let body = world.sim.sim.deliveries().into_iter().find(|d| d.id == id).unwrap().body;
    let signature = sign(&body, SECRET);
    let concurrent = (0..10).map(|_| world.post_webhook(&body, Some(&signature)));
    assert!(futures::future::join_all(concurrent).await.iter().all(|s| *s == StatusCode::OK));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.count_events().await.unwrap(), events);
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert_eq!(page.matches("Last deployment: succeeded").count(), 1, "{page}");
}

#[tokio::test]
async fn deliveries_at_once_share_commits_yet_each_event_is_stored_and_applied_once() {
    let world = world().await;
    let store = world.store().await;
    let before = store.count_events().await.unwrap();
    // A hundred new events, each delivered twice at the same moment: most arrive while another
    // commit is being made and share the next one, repeats of one event among them.
    let bodies: Vec<(String, Vec<u8>)> = (0..100)
        .map(|i| {
            let id = format!("evt_at_once_{i}");
            let body = event(&id, "integration-configuration.scope-change-confirmed", json!({}));
            (id, body)
        })
        .collect();
    let signed: Vec<(&[u8], String)> = bodies.iter().map(|(_, body)| (&body[..], sign(body, SECRET))).collect();
    let posts = signed.iter().flat_map(|(body, signature)| {
        [world.post_webhook(body, Some(signature)), world.post_webhook(body, Some(signature))]
    });
    let statuses = futures::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(store.count_events().await.unwrap(), before + 100);
    for (id, _) in &bodies {
        world.applied(id).await;
    }

    // In one batch, in order: the first delivery of an id is the new one.
    let new = |id| server::store::inbox::NewEvent {
        id,
        kind: "deployment.created",
        configuration_id: None,
        body: "{}",
        created_at: 0,
    };
    let fresh = store.store_events(&[new("evt_batch_a"), new("evt_batch_b"), new("evt_batch_a")]).await.unwrap();
    assert_eq!(fresh, [true, true, false]);
    assert_eq!(store.store_events(&[new("evt_batch_b"), new("evt_batch_c")]).await.unwrap(), [false, true]);
}

#[tokio::test]
async fn bad_signatures_and_oversized_bodies_store_nothing() {
    let world = world().await;
    let body = event("evt_bad", "deployment.created", json!({}));
    let good = sign(&body, SECRET);
    let mut flipped = body.clone();
    flipped[10] ^= 0x04;
    let reserialised = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    let wrong = sign(&body, "another secret");
    let cases: [(&[u8], Option<&str>); 7] = [
        (&body, None),
        (&body, Some("")),
        (&body, Some("zz")),
        (&body, Some(&good[..30])),
        (&body, Some(&wrong)),
        (&flipped, Some(&good)),
        (&reserialised, Some(&good)),
    ];
    for (i, (body, signature)) in cases.into_iter().enumerate() {
        assert_eq!(world.post_webhook(body, signature).await, StatusCode::UNAUTHORIZED, "case {i}");
    }
    // The simulator's own tampering: a delivery it sends with one bit flipped is refused.
    world.sim.sim.emit("deployment.created", json!({"project": {"id": "prj_none"}}));
    let id = wait_for_delivery(&world, "deployment.created").await;
    let stored = world.store().await.count_events().await.unwrap();
    assert!(world.sim.sim.deliver(&id, true));
    let mut refused = false;
    for _ in 0..100 {
        let statuses = world.sim.sim.deliveries().into_iter().find(|d| d.id == id).unwrap().statuses;
        if statuses.contains(&401) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the tampered delivery got 401");
    assert_eq!(world.store().await.count_events().await.unwrap(), stored);

    let huge = vec![b' '; server::webhook::BODY_LIMIT + 1];
    assert_eq!(world.post_webhook(&huge, Some(&sign(&huge, SECRET))).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(world.store().await.count_events().await.unwrap(), stored, "only the simulator's genuine event");
}

#[tokio::test]
async fn uninstalling_at_vercel_removes_the_installation_here_in_any_order() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.connect(&popup.configuration_id, &[("prj_acme071", "new")]).await;
    let token = world.sim.sim.issued_tokens().pop().unwrap();
    let configuration = json!({"configuration": {"id": popup.configuration_id}});

    // The legacy spelling, twice, before a deployment that Vercel sent earlier but that arrives late.
    let removed = event("evt_removed", "integration-configuration-removed", configuration.clone());
    for _ in 0..2 {
        assert_eq!(world.post_webhook(&removed, Some(&sign(&removed, SECRET))).await, StatusCode::OK);
    }
    let late = event(
        "evt_late",
        "deployment.succeeded",
        json!({"project": {"id": "prj_acme071"}, "team": {"id": vercel_sim::TEAM_ID}}),
    );
    assert_eq!(world.post_webhook(&late, Some(&sign(&late, SECRET))).await, StatusCode::OK);
    assert!(world.applied("evt_removed").await.starts_with("uninstalled"));
    world.applied("evt_late").await;

    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("was removed"));
    assert!(!world.database_bytes().await.windows(token.len()).any(|w| w == token.as_bytes()));
    let install = world.get(&format!("/install/{}", popup.configuration_id)).await;
    assert_eq!(install.status(), StatusCode::GONE, "nothing can be linked any more");
    assert!(install.text().await.unwrap().contains(r#"data-failure="removed""#), "the popup says why");
}

#[tokio::test]
async fn the_simulators_uninstall_and_project_events_reach_tether() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.connect(&popup.configuration_id, &[("prj_acme072", "new"), ("prj_acme073", "new")]).await;
    assert!(world.sim.sim.remove_project("prj_acme072"));
    let removed = wait_for_delivery(&world, "project.removed").await;
    assert!(world.applied(&removed).await.contains("1 installation"));
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert!(page.contains("Connected projects (1)") && !page.contains(r#"data-project="acme-app-072""#));

    assert!(world.sim.sim.uninstall(&popup.configuration_id));
    let id = wait_for_delivery(&world, "integration-configuration.removed").await;
    world.applied(&id).await;
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await;
    assert_eq!(page.status(), StatusCode::GONE);
}

#[tokio::test]
async fn an_acknowledged_event_survives_kill_9_and_is_applied_after_restart() {
    let world = world().await;
    let dir = std::env::temp_dir().join(format!("tether-kill-{}", rand::random::<u64>()));
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let database_url = database_url(&dir).await;
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .env("TETHER_DATABASE_URL", &database_url)
            .env("TETHER_ADDR", format!("127.0.0.1:{port}"))
            .env("TETHER_SIMULATOR_URL", world.sim.url())
            .env("TETHER_DATA_DIR", &dir)
            .env("TETHER_CONFIG", "/dev/null")
            .env("TETHER_MODE", "sandbox")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let up = || async {
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("Tether did not start");
    };
    let mut tether = spawn();
    up().await;
    let body = event(
        "evt_durable",
        "project.created",
        json!({"project": {"id": "prj_x", "name": "x"}, "team": {"id": "team_nobody"}}),
    );
    let signature = sign(&body, SECRET);
    let response = client
        .post(format!("{base}/webhooks/vercel"))
        .header("x-vercel-signature", &signature)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    tether.kill().unwrap(); // SIGKILL: no shutdown, no flush
    tether.wait().unwrap();

    let mut tether = spawn();
    up().await;
    let again = client
        .post(format!("{base}/webhooks/vercel"))
        .header("x-vercel-signature", &signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK, "a repeat after the restart is acknowledged");
    let store = server::store::Store::connect(&database_url).await.unwrap();
    let mut state = None;
    for _ in 0..100 {
        state = store.event_state("evt_durable").await.unwrap();
        if state.as_ref().is_some_and(|(s, _)| s == "done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tether.kill().unwrap();
    tether.wait().unwrap();
    assert_eq!(state.map(|(s, _)| s).as_deref(), Some("done"), "stored before the 200, applied after the restart");
    assert_eq!(store.count_events().await.unwrap(), 1);
}

pub async fn deliver(world: &crate::support::World, id: &str, kind: &str, payload: serde_json::Value) -> String {
    let body = event(id, kind, payload);
    assert_eq!(world.post_webhook(&body, Some(&sign(&body, SECRET))).await, StatusCode::OK, "{kind}");
    world.applied(id).await
}

#[tokio::test]
async fn permission_changes_transfers_new_projects_and_unknown_types() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    world.connect(&cfg, &[("prj_acme080", "new"), ("prj_acme081", "new")]).await;
    let configuration = json!({"id": cfg, "projectSelection": "selected", "projects": ["prj_acme081"]});

    let outcome = deliver(
        &world,
        "evt_perm",
        "integration-configuration.permission-upgraded",
        json!({"configuration": configuration, "projects": {"added": [], "removed": ["prj_acme080"]}}),
    )
    .await;
    assert!(outcome.contains("closed 1 link"), "{outcome}");
    let page = world.get(&format!("/configure?configurationId={cfg}")).await.text().await.unwrap();
    assert!(page.contains("Connected projects (1)") && page.contains(r#"data-project="acme-app-081""#));

    let created = world.sim.sim.create_project(vercel_sim::TEAM_ID).unwrap();
    let id = wait_for_delivery(&world, "project.created").await;
    let outcome = world.applied(&id).await;
    let page = world.get(&format!("/configure?configurationId={cfg}")).await.text().await.unwrap();
    let shown = page.find("New on Vercel").map(|i| &page[i..i + 80]);
    assert!(page.contains(&format!("New on Vercel since the install: {}", created.name)), "{outcome}: {shown:?}");

    let outcome = deliver(&world, "evt_unknown", "integration-configuration.someday", json!({})).await;
    assert!(outcome.starts_with("ignored unknown type"));

    deliver(
        &world,
        "evt_moved",
        "integration-configuration.transferred",
        json!({"configuration": {"id": cfg}, "previousTeamId": vercel_sim::TEAM_ID, "newTeamId": "team_elsewhere"}),
    )
    .await;
    let installation = world.store().await.installation(&icfg(&cfg)).await.unwrap().unwrap();
    assert_eq!(installation.team_id.as_deref(), Some("team_elsewhere"));
}

/// Tether only ever releases what it created. A database the customer had and only connected
/// stays, whatever the policy; one Tether created is released once nothing links it any more.
#[tokio::test]
async fn release_takes_only_what_tether_created_and_no_one_links() {
    let world = crate::support::world_with(Some("[provider]\non_uninstall = \"release\"\n")).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.as_str();
    let shared = crate::support::resource_id(&popup.page, "shared-db");
    let existing = format!("existing:{shared}");
    world.connect(cfg, &[("prj_acme090", "new"), ("prj_acme091", &existing)]).await;
    // A second project on the database Tether created: it stays Tether's to release.
    let page = world.get(&format!("/install/{cfg}")).await.text().await.unwrap();
    let created = crate::support::resource_id(&page, "acme-app-090-db");
    world.connect(cfg, &[("prj_acme092", &format!("existing:{created}"))]).await;
    let names = || async {
        let rows = world.store().await.resources_of(vercel_sim::TEAM_ID).await.unwrap();
        rows.into_iter().map(|r| r.name).collect::<Vec<String>>()
    };
    assert!(names().await.contains(&"acme-app-090-db".to_string()));

    // Disconnecting the customer's own database, and one of two projects on Tether's: nothing
    // is released.
    for project in ["prj_acme091", "prj_acme090"] {
        let form = [("configuration_id", cfg), ("project_id", project)];
        assert_eq!(world.post_form("unlink_project", &form).await.status(), StatusCode::FOUND);
    }
    let jobs = world.jobs_sent().await;
    assert!(jobs.iter().all(|(_, kind, _)| kind != "release"), "nothing released yet: {jobs:?}");
    assert!(names().await.contains(&"shared-db".to_string()) && names().await.contains(&"acme-app-090-db".to_string()));

    deliver(&world, "evt_gone", "integration-configuration.removed", json!({"configuration": {"id": cfg}})).await;
    let jobs = world.jobs_sent().await;
    assert_eq!(jobs.iter().filter(|(_, kind, _)| kind == "release").count(), 1, "{jobs:?}");
    let after = names().await;
    assert!(!after.contains(&"acme-app-090-db".to_string()), "Tether created it and nothing links it: {after:?}");
    assert!(after.contains(&"shared-db".to_string()), "the customer's own database is never released: {after:?}");
    assert!(after.contains(&"analytics-db".to_string()), "never linked, so not this installation's to release");
}

/// A user who first chose their own database, hit a clash, then chose a new one: the retry
/// creates a new database instead of taking theirs over as Tether's, so theirs is never released.
#[tokio::test]
async fn choosing_new_after_a_failed_connect_never_claims_the_customers_database() {
    let world = crate::support::world_with(Some("[provider]\non_uninstall = \"release\"\n")).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.as_str();
    let shared = crate::support::resource_id(&popup.page, "shared-db");
    world.sim.sim.add_manual_env("prj_acme095", "ACME_URL", "postgres://theirs", &["production"]);
    world.connect(cfg, &[("prj_acme095", &format!("existing:{shared}"))]).await;
    let link = world.store().await.link(&icfg(cfg), "prj_acme095").await.unwrap().unwrap();
    assert_eq!(link.status, server::store::links::LinkStatus::Clash, "nothing written yet");

    world.connect_answering(cfg, &[("prj_acme095", "new")], &[("prj_acme095", "keep")]).await;
    let link = world.store().await.link(&icfg(cfg), "prj_acme095").await.unwrap().unwrap();
    assert_eq!(link.status, server::store::links::LinkStatus::Linked);
    assert_ne!(link.resource_id.as_deref(), Some(shared.as_str()), "a new database, not theirs");

    deliver(&world, "evt_gone", "integration-configuration.removed", json!({"configuration": {"id": cfg}})).await;
    world.jobs_sent().await;
    let names: Vec<String> =
        world.store().await.resources_of(vercel_sim::TEAM_ID).await.unwrap().into_iter().map(|r| r.name).collect();
    assert!(names.contains(&"shared-db".to_string()), "the customer's database stays: {names:?}");
    assert!(!names.contains(&"acme-app-095-db".to_string()), "the one Tether created is released: {names:?}");
}

/// A project renamed at Vercel is shown under its new name: on the Configure page, which reads
/// Tether's links, and on the install page, whose cached list is dropped.
#[tokio::test]
async fn a_renamed_project_shows_its_new_name() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    world.connect(&cfg, &[("prj_acme070", "new")]).await;
    assert!(world.sim.sim.rename_project("prj_acme070", "robot-arm-console"));
    let delivery = world.sim.sim.deliveries().into_iter().rfind(|d| d.kind == "project.renamed").unwrap();
    let body: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["payload"]["previousName"], "acme-app-070");
    assert_eq!(body["payload"]["user"]["id"], vercel_sim::PERSONAL_USER_ID, "Vercel always names the user");
    let outcome = world.applied(&delivery.id).await;
    assert_eq!(outcome, "renamed prj_acme070 to robot-arm-console in 1 installation(s)");

    let link = world.store().await.link(&icfg(&cfg), "prj_acme070").await.unwrap().unwrap();
    assert_eq!(link.project_name, "robot-arm-console");
    let configure = world.get(&format!("/configure?configurationId={cfg}")).await.text().await.unwrap();
    assert!(configure.contains("robot-arm-console"), "Configure");
    let install = world.get(&format!("/install/{cfg}?q=robot")).await.text().await.unwrap();
    assert!(install.contains("robot-arm-console"), "the install page lists it anew");
}

/// The simulator's own deliveries of an owner's transfer and scope confirmation: after the
/// transfer Tether acts in the new team (its calls carry the new `teamId`, which Vercel requires).
#[tokio::test]
async fn a_transfer_and_a_scope_confirmation_sent_by_vercel_are_followed() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    let last = |kind: &str| world.sim.sim.deliveries().into_iter().rfind(|d| d.kind == kind).unwrap().id;

    assert!(world.sim.sim.confirm_scopes(&cfg, &vercel_sim::state::DEFAULT_SCOPES));
    let outcome = world.applied(&last("integration-configuration.scope-change-confirmed")).await;
    assert!(outcome.starts_with("recorded scopes"), "{outcome}");

    assert!(world.sim.sim.transfer(&cfg, vercel_sim::HOBBY_TEAM_ID));
    let outcome = world.applied(&last("integration-configuration.transferred")).await;
    assert_eq!(outcome, format!("moved to team {}", vercel_sim::HOBBY_TEAM_ID));
    let page = world.get(&format!("/install/{cfg}")).await;
    assert_eq!(page.status(), StatusCode::OK, "the token works in the new team");
    assert!(page.text().await.unwrap().contains("Bob"), "and the page names it");
}
