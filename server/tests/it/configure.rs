//! The Configure page: visible only to the installation's session, and each of its actions as
//! Vercel records it.

use reqwest::{header, redirect::Policy, StatusCode};
use vercel_sim::Begin;

use crate::support::{world, world_with};

fn main_of(page: &str) -> &str {
    &page[page.find("<main").unwrap()..page.find("</main>").unwrap()]
}

#[tokio::test]
async fn the_page_shows_keys_to_its_session_and_nothing_to_anyone_else() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme010", "new")]).await.status(), StatusCode::FOUND);
    let response = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Acme Robotics") && page.contains("acme-app-010") && page.contains("ACME_API_KEY"));
    assert!(page.contains("Disconnect (3 variables)"), "counts every variable Tether created");
    let secret = world.sim.sim.env_value("prj_acme010", "ACME_API_KEY", "production").unwrap();
    assert!(!page.contains(&secret), "values never appear, only keys");

    let stranger = reqwest::Client::new();
    let theirs = stranger
        .get(format!("{}/configure?configurationId={}", world.tether, popup.configuration_id))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let theirs = theirs.text().await.unwrap();
    let unknown = stranger
        .get(format!("{}/configure?configurationId=icfg_nobodyhasthis", world.tether))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(main_of(&theirs), main_of(&unknown), "unknown and foreign ids look the same");
    assert!(theirs.contains("Sign in with Vercel") && !theirs.contains("acme-app-010"));
}

#[tokio::test]
async fn unlinking_removes_exactly_the_variables_tether_created() {
    // ACME_URL only on production and preview, so a hand-made ACME_URL can live on development.
    let config = r#"
[provider]
[[provider.env]]
key = "ACME_URL"
value = "{url}"
targets = ["production", "preview"]
[[provider.env]]
key = "ACME_API_KEY"
value = "{api_key}"
secret = true
"#;
    let world = world_with(Some(config)).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.sim.sim.add_manual_env("prj_acme020", "ACME_URL", "http://localhost:5432", &["development"]);
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme020", "new")]).await.status(), StatusCode::FOUND);
    assert_eq!(world.sim.sim.snapshot().env["prj_acme020"].len(), 4);

    let response = world
        .post_form("unlink_project", &[("configuration_id", &popup.configuration_id), ("project_id", "prj_acme020")])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = response.headers()[header::LOCATION].to_str().unwrap();
    assert!(back.ends_with("notice=unlinked"), "{back}");
    let left = &world.sim.sim.snapshot().env["prj_acme020"];
    assert_eq!(left.len(), 1, "only the hand-made variable stays: {left:?}");
    assert_eq!(left[0].target, ["development"]);
    assert_eq!(
        world.sim.sim.env_value("prj_acme020", "ACME_URL", "development").as_deref(),
        Some("http://localhost:5432")
    );
    let page = world.get(back).await.text().await.unwrap();
    assert!(page.contains("was disconnected") && page.contains("Connected projects (0)"));
}

#[tokio::test]
async fn rotating_writes_new_credentials_to_every_linked_project() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let start = popup.page.find("value=\"existing:").unwrap() + "value=\"existing:".len();
    let resource = popup.page[start..].split('"').next().unwrap().to_owned();
    let existing = format!("existing:{resource}");
    let choices = [("prj_acme030", existing.as_str()), ("prj_acme031", existing.as_str())];
    assert_eq!(world.connect(&popup.configuration_id, &choices).await.status(), StatusCode::FOUND);
    let key = |project| world.sim.sim.env_value(project, "ACME_API_KEY", "production").unwrap();
    let before = key("prj_acme030");
    assert_eq!(before, key("prj_acme031"));

    let response = world
        .post_form("rotate_credentials", &[("configuration_id", &popup.configuration_id), ("resource_id", &resource)])
        .await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=rotated"));
    let after = key("prj_acme030");
    assert_ne!(after, before);
    assert_eq!(after, key("prj_acme031"), "every linked project has the new key");
    assert_eq!(world.sim.sim.env_value("prj_acme030", "ACME_API_KEY", "development").unwrap(), after);
    assert_eq!(world.sim.sim.snapshot().env["prj_acme030"].len(), 3, "replaced, not added");
}

#[tokio::test]
async fn old_credentials_are_revoked_only_once_every_project_has_the_new_ones() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let resource = crate::support::resource_id(&popup.page, "shared-db");
    let existing = format!("existing:{resource}");
    let choices = [("prj_acme032", existing.as_str()), ("prj_acme033", existing.as_str())];
    assert_eq!(world.connect(&popup.configuration_id, &choices).await.status(), StatusCode::FOUND);
    let key = |project| world.sim.sim.env_value(project, "ACME_API_KEY", "production").unwrap();
    let old = key("prj_acme032");
    let form = [("configuration_id", popup.configuration_id.as_str()), ("resource_id", resource.as_str())];
    let rotate = || world.post_form("rotate_credentials", &form);
    let pending = || async { world.store().await.resource(&resource).await.unwrap().unwrap().sealed_pending_key };

    // Vercel refuses the write to one project: that project keeps the old key, so it stays valid.
    world.sim.sim.fail_next("POST", "/v10/projects/prj_acme033/env", 400);
    assert!(rotate().await.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=failed"));
    let new = key("prj_acme032");
    assert_ne!(new, old);
    assert_eq!(key("prj_acme033"), old, "not reached");
    assert!(pending().await.is_some(), "the old key is not revoked while a project still uses it");
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert!(page.contains("A rotation did not finish") && page.contains("Finish rotation"));

    // Rotating again resumes with the same new key, then revokes the old one.
    assert!(rotate().await.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=rotated"));
    assert_eq!(key("prj_acme033"), new, "the same new key everywhere");
    assert_eq!(key("prj_acme032"), new);
    assert!(pending().await.is_none(), "finished: the new key is the only one");
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert!(!page.contains("A rotation did not finish"));
}

#[tokio::test]
async fn uninstalling_needs_confirmation_then_removes_it_at_vercel_and_here() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme040", "new")]).await.status(), StatusCode::FOUND);

    let unconfirmed = world.post_form("uninstall", &[("configuration_id", &popup.configuration_id)]).await;
    assert!(unconfirmed.headers()[header::LOCATION].to_str().unwrap().contains("/configure?"));
    assert_eq!(world.sim.sim.snapshot().installations.last().unwrap().status, "active");

    let response =
        world.post_form("uninstall", &[("configuration_id", &popup.configuration_id), ("confirm", "yes")]).await;
    assert_eq!(response.headers()[header::LOCATION], "/uninstalled");
    let sim = world.sim.sim.snapshot();
    assert_eq!(sim.installations.last().unwrap().status, "removed");
    assert!(!sim.env.contains_key("prj_acme040"), "Vercel removed the installation's variables");
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await;
    assert_eq!(page.status(), StatusCode::GONE, "the session can no longer act, only learn it is gone");
    assert!(page.text().await.unwrap().contains("was removed"));
    let token = world.sim.sim.issued_tokens().pop().unwrap();
    assert!(!world.database_bytes().await.windows(token.len()).any(|w| w == token.as_bytes()));
}

#[tokio::test]
async fn signing_in_through_vercel_leads_back_to_the_configure_page() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // A new browser: no session. It proves ownership through the external flow.
    let browser = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let start = browser.get(format!("{}/install/start?then=configure", world.tether)).send().await.unwrap();
    let location = start.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let state = location.split("state=").nth(1).unwrap().to_owned();
    let callback = world
        .sim
        .sim
        .begin(&Begin { account_id: vercel_sim::TEAM_ID, source: "external", state: Some(&state), ..Begin::default() })
        .unwrap();
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let landing = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(landing, format!("/configure?configurationId={}", popup.configuration_id));
    let page = browser.get(format!("{}{landing}", world.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(world.installation_rows().await, 1);
}
