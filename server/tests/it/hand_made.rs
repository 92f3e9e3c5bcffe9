//! Variables the user made by hand are theirs: a same-named one is never overwritten without an
//! explicit choice, and Disconnect removes only what Tether created, by Vercel's id.

use reqwest::{header, StatusCode};

use crate::support::{world, World};

const PROJECT: &str = "prj_acme080";

async fn connect_with(world: &World, configuration_id: &str, clash: Option<&str>) -> reqwest::Response {
    let clashes: Vec<(&str, &str)> = clash.map(|answer| (PROJECT, answer)).into_iter().collect();
    world.connect_answering(configuration_id, &[(PROJECT, "new")], &clashes).await
}

async fn disconnect(world: &World, configuration_id: &str) {
    let response =
        world.post_form("unlink_project", &[("configuration_id", configuration_id), ("project_id", PROJECT)]).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
}

fn keys(world: &World) -> Vec<(String, Option<String>)> {
    let mut keys: Vec<_> = world
        .sim
        .sim
        .snapshot()
        .env
        .get(PROJECT)
        .map(|vars| vars.iter().map(|v| (v.key.clone(), v.configuration_id.clone())).collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_same_named_variable_is_shown_as_a_clash_kept_by_default_and_survives_disconnect() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // Same key, same target as the one Tether would write.
    world.sim.sim.add_manual_env(PROJECT, "ACME_API_KEY", "theirs", &["development"]);

    let response = connect_with(&world, &popup.configuration_id, None).await;
    assert_eq!(response.headers()[header::LOCATION], format!("/install/{}", popup.configuration_id).as_str());
    assert_eq!(keys(&world), [("ACME_API_KEY".to_string(), None)], "nothing written before the user chose");
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    assert!(
        page.contains("ACME_API_KEY already exists in this project") && page.contains("Keep yours"),
        "the clash is shown"
    );

    let response = connect_with(&world, &popup.configuration_id, Some("keep")).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "on to the last step");
    assert_eq!(world.sim.sim.env_value(PROJECT, "ACME_API_KEY", "development").as_deref(), Some("theirs"));
    assert!(world.sim.sim.env_value(PROJECT, "ACME_URL", "production").is_some(), "the other key was written");

    disconnect(&world, &popup.configuration_id).await;
    assert_eq!(keys(&world), [("ACME_API_KEY".to_string(), None)], "only theirs is left");
    assert_eq!(world.sim.sim.env_value(PROJECT, "ACME_API_KEY", "development").as_deref(), Some("theirs"));
}

#[tokio::test]
async fn replacing_is_an_explicit_choice_and_then_the_variable_is_tethers() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.add_manual_env(PROJECT, "ACME_URL", "https://theirs.example", &["production", "preview"]);
    assert_eq!(connect_with(&world, &popup.configuration_id, None).await.status(), StatusCode::FOUND);
    assert_eq!(world.sim.sim.env_value(PROJECT, "ACME_URL", "production").as_deref(), Some("https://theirs.example"));

    let response = connect_with(&world, &popup.configuration_id, Some("replace")).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "on to the last step");
    let url = world.sim.sim.env_value(PROJECT, "ACME_URL", "production").unwrap();
    assert_ne!(url, "https://theirs.example");
    assert_eq!(keys(&world).len(), 3, "theirs replaced, not duplicated");

    disconnect(&world, &popup.configuration_id).await;
    assert!(keys(&world).is_empty(), "what the user chose to replace is now Tether's to remove");
}

#[tokio::test]
async fn a_variable_on_other_targets_is_no_clash() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.add_manual_env(PROJECT, "OTHER_KEY", "theirs", &["production"]);
    let response = connect_with(&world, &popup.configuration_id, None).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "on to the last step");
    assert_eq!(keys(&world).len(), 4);
}

/// A project with more variables than one page of Vercel's env list: the clash check reads
/// every page, so a hand-made variable on the last one is still found and kept.
#[tokio::test]
async fn a_clash_on_the_last_page_of_a_long_env_list_is_still_found() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // The oldest variable is listed last: made first, it lands on the third page.
    world.sim.sim.add_manual_env(PROJECT, "ACME_API_KEY", "theirs", &["development"]);
    for n in 0..2 * vercel_sim::ENV_PAGE {
        world.sim.sim.add_manual_env(PROJECT, &format!("THEIRS_{n:03}"), "x", &["production"]);
    }

    let response = connect_with(&world, &popup.configuration_id, None).await;
    assert_eq!(response.headers()[header::LOCATION], format!("/install/{}", popup.configuration_id).as_str());
    let reads = world
        .sim
        .sim
        .snapshot()
        .calls
        .into_iter()
        .filter(|c| c.method == "GET" && c.path == format!("/v10/projects/{PROJECT}/env"))
        .count();
    assert_eq!(reads, 3, "every page of the list was read, each once");
    assert_eq!(world.sim.sim.env_value(PROJECT, "ACME_API_KEY", "development").as_deref(), Some("theirs"));
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    assert!(page.contains("ACME_API_KEY already exists in this project"), "the clash is shown");
}
