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
