//! A disabled installation: Vercel disables one when the member who installed it leaves the
//! team, and sends no event. Tether learns from the first refused call, shows the state and what
//! an owner does about it, offers nothing that would fail, and comes back with a transfer.

use reqwest::StatusCode;

use crate::support::{icfg, world};

const PROJECT: &str = "prj_acme030";

#[tokio::test]
async fn a_disabled_installation_shows_its_state_offers_no_action_and_a_transfer_brings_it_back() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    world.connect(&cfg, &[(PROJECT, "new")]).await;
    let written = world.sim.sim.snapshot().env[PROJECT].len();
    assert!(written > 0);

    assert_eq!(world.sim.sim.leave_team(vercel_sim::TEAM_ID, vercel_sim::PERSONAL_USER_ID), 1);
    let configure = world.get(&format!("/configure?configurationId={cfg}")).await;
    assert_eq!(configure.status(), StatusCode::FORBIDDEN);
    let page = configure.text().await.unwrap();
    assert!(page.contains(r#"data-failure="disabled""#), "{page}");
    assert!(page.contains("This installation is disabled at Vercel"), "{page}");
    assert!(page.contains("transfer this integration to a current member"), "what an owner does: {page}");
    assert!(page.contains(&format!(r#"href="/configure?configurationId={cfg}" class="button">Check again"#)));
    assert!(!page.contains("Disconnect") && !page.contains("<form"), "no action that would fail: {page}");
    let disabled_at = world.store().await.installation(&icfg(&cfg)).await.unwrap().unwrap().disabled_at;
    assert!(disabled_at.is_some(), "Tether recorded the state");

    // The install page's projects are cached, but a disabled installation is asked about again.
    let install = world.get(&format!("/install/{cfg}")).await;
    assert_eq!(install.status(), StatusCode::FORBIDDEN);
    let page = install.text().await.unwrap();
    assert!(page.contains(r#"data-failure="disabled""#) && !page.contains("Connect"), "{page}");

    // A form posted from an old tab changes nothing at Vercel.
    let response =
        world.post_form("unlink_project", &[("configuration_id", cfg.as_str()), ("project_id", PROJECT)]).await;
    assert!(response.status().is_redirection() || response.status().is_client_error(), "{}", response.status());
    assert_eq!(world.sim.sim.snapshot().env[PROJECT].len(), written, "the variables stay");

    // An owner transfers it to a current member: Vercel's event enables it in Tether.
    assert!(world.sim.sim.transfer_to_member(&cfg, "user_sim_carol"));
    let event = world.sim.sim.deliveries().into_iter().rfind(|d| d.kind == "integration-configuration.transferred");
    let outcome = world.applied(&event.unwrap().id).await;
    assert_eq!(outcome, format!("transferred to another member of {}; enabled", vercel_sim::TEAM_ID));
    assert!(world.store().await.installation(&icfg(&cfg)).await.unwrap().unwrap().disabled_at.is_none());
    let configure = world.get(&format!("/configure?configurationId={cfg}")).await;
    assert_eq!(configure.status(), StatusCode::OK);
    assert!(configure.text().await.unwrap().contains("Disconnect"), "the actions are back");
}

/// A disabled installation's install page asks Vercel on every load, so it is back as soon as
/// Vercel answers again, whichever comes first: the transfer's event or the next load.
#[tokio::test]
async fn the_install_page_of_a_disabled_installation_asks_vercel_each_time() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    world.sim.sim.leave_team(vercel_sim::TEAM_ID, vercel_sim::PERSONAL_USER_ID);
    assert_eq!(world.get(&format!("/install/{cfg}?refresh=1")).await.status(), StatusCode::FORBIDDEN);
    let listed = || world.sim.sim.snapshot().calls.iter().filter(|c| c.path == "/v10/projects").count();
    let before = listed();
    assert_eq!(world.get(&format!("/install/{cfg}")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(listed(), before + 1, "asked again, not served from the cache");

    world.sim.sim.transfer_to_member(&cfg, "user_sim_carol");
    let page = world.get(&format!("/install/{cfg}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("acme-app-030"), "the projects are listed again");
    assert!(world.store().await.installation(&icfg(&cfg)).await.unwrap().unwrap().disabled_at.is_none());
}
