//! The marketplace install end to end over real HTTP: Tether on port 0 against an in-process
//! simulator, a fresh SQLite file per test, asserting what the simulator (Vercel) recorded.

use reqwest::{header, redirect::Policy, StatusCode};

use crate::support::{icfg, world};

const EXCHANGE: &str = "/v2/oauth/access_token";

fn first_existing_resource(page: &str) -> String {
    let start = page.find("value=\"existing:").expect("an existing resource is offered") + "value=\"existing:".len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn team_install_lists_every_project_and_writes_env_vars_once_per_project() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert!(popup.page.contains("Acme Robotics"), "the team's name is shown");
    assert_eq!(popup.page.matches(r#"<li class="project"#).count(), vercel_sim::TEAM_PROJECTS, "all pages followed");
    assert!(popup.page.contains("acme-app-249"), "the last page's projects are listed");

    let existing = first_existing_resource(&popup.page);
    let response = world
        .connect(
            &popup.configuration_id,
            &[("prj_acme000", "new"), ("prj_acme007", &format!("existing:{existing}")), ("prj_acme001", "skip")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    // The last step says what was connected and where the variables went, then leads to `next`.
    let done = response.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(done, format!("/install/{}/done", popup.configuration_id));
    let page = world.get(done).await.text().await.unwrap();
    assert!(page.contains("Acme DB is connected to 2 projects"), "{page}");
    assert!(page.contains("acme-app-000") && page.contains("acme-app-007") && !page.contains("acme-app-001"));
    assert!(page.contains(r#"<div class="keys">ACME_API_KEY, ACME_URL</div>"#), "{page}");
    let next = crate::support::return_link(&page);
    assert!(next.starts_with(&format!("{}/integrations/tether/installed", world.sim.url())), "{next}");

    let state = world.sim.sim.snapshot();
    let mut linked: Vec<_> = state.env.keys().cloned().collect();
    linked.sort();
    assert_eq!(linked, ["prj_acme000", "prj_acme007"]);
    for project in &linked {
        let vars = &state.env[project];
        let mut shapes: Vec<_> = vars.iter().map(|v| (v.key.as_str(), v.kind.as_str(), v.target.join(","))).collect();
        shapes.sort();
        assert_eq!(
            shapes,
            [
                ("ACME_API_KEY", "encrypted", "development".to_string()),
                ("ACME_API_KEY", "sensitive", "production,preview".to_string()),
                ("ACME_URL", "plain", "production,preview,development".to_string()),
            ]
        );
        let upserts = state
            .calls
            .iter()
            .filter(|c| c.method == "POST" && c.path == format!("/v10/projects/{project}/env"))
            .count();
        assert_eq!(upserts, 1, "one batched upsert for {project}");
    }
    let api_calls: Vec<_> = state.calls.iter().filter(|c| c.path != EXCHANGE).collect();
    assert!(api_calls.len() > 5);
    assert!(api_calls.iter().all(|c| c.team_id.as_deref() == Some(vercel_sim::TEAM_ID)), "teamId on every team call");
    assert_eq!(state.exchanges, 1);
    let key = world.sim.sim.env_value("prj_acme007", "ACME_API_KEY", "production").unwrap();
    assert!(key.starts_with("sk_"));
    let url = world.sim.sim.env_value("prj_acme007", "ACME_URL", "development").unwrap();
    assert!(url.contains(&existing), "the existing resource's URL: {url}");

    // The popup finished, so the page now shows both projects as linked.
    let page = world.browser.get(format!("{}/install/{}", world.tether, popup.configuration_id)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert_eq!(page.matches("Linked to").count(), 2);
}

#[tokio::test]
async fn personal_install_sends_no_team_id_and_pressing_connect_twice_duplicates_nothing() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    assert!(popup.page.contains("Alice Example"));
    assert_eq!(popup.page.matches(r#"<li class="project"#).count(), vercel_sim::PERSONAL_PROJECTS);
    let choices = [("prj_alice000", "new"), (vercel_sim::LEGACY_PROJECT_ID, "new"), ("prj_alice002", "new")];
    assert_eq!(world.connect(&popup.configuration_id, &choices).await.status(), StatusCode::FOUND);
    assert_eq!(world.connect(&popup.configuration_id, &choices).await.status(), StatusCode::FOUND);
    let state = world.sim.sim.snapshot();
    assert_eq!(state.env.len(), 3);
    assert!(state.env.values().all(|vars| vars.len() == 3), "no duplicated variables");
    let upserts = state.calls.iter().filter(|c| c.method == "POST" && c.path != EXCHANGE).count();
    assert_eq!(upserts, 3, "the second Connect found everything linked");
    assert!(state.calls.iter().all(|c| c.team_id.is_none()));
}

#[tokio::test]
async fn replaying_the_used_callback_is_refused_without_a_second_exchange() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // Same browser: offered to continue. A fresh browser: only the way back to Vercel.
    let again = world.browser.get(&popup.callback_url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body = again.text().await.unwrap();
    assert!(
        body.contains("already used")
            && body.contains(r#"data-failure="code-used""#)
            && body.contains("Continue the installation")
            && body.contains("Return to Vercel")
    );
    let stranger = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let replay = stranger.get(&popup.callback_url).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    let body = replay.text().await.unwrap();
    assert!(!body.contains("Continue the installation") && body.contains("Return to Vercel"));
    assert_eq!(world.sim.sim.snapshot().exchanges, 1, "no second exchange");
    // The stranger cannot open the install page either, and learns nothing from it.
    let peek = stranger.get(format!("{}/install/{}", world.tether, popup.configuration_id)).send().await.unwrap();
    assert_eq!(peek.status(), StatusCode::NOT_FOUND);
    let unknown = stranger.get(format!("{}/install/icfg_doesnotexist", world.tether)).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let main = |page: String| page[page.find("<main").unwrap()..page.find("</main>").unwrap()].to_owned();
    let (a, b) = (main(peek.text().await.unwrap()), main(unknown.text().await.unwrap()));
    assert_eq!(a, b, "an unknown id and someone else's look the same");
}

#[tokio::test]
async fn the_token_is_not_stored_in_clear() {
    let world = world().await;
    world.open_popup(vercel_sim::TEAM_ID).await;
    let tokens = world.sim.sim.issued_tokens();
    assert_eq!(tokens.len(), 1);
    let bytes = world.database_bytes().await;
    assert!(!bytes.is_empty());
    let token = tokens[0].as_bytes();
    assert!(!bytes.windows(token.len()).any(|w| w == token), "the token is in the database in clear");
}

#[tokio::test]
async fn a_foreign_next_or_a_broken_link_gets_a_page_with_a_way_back() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let evil = url.replace("next=http", "next=https%3A%2F%2Fevil.example%2F&x=http");
    let response = world.browser.get(&evil).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains("evil.example"));
    let broken = url.replace("code=", "code=%3C");
    let response = world.browser.get(&broken).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("Return to Vercel"));
    assert_eq!(world.sim.sim.snapshot().exchanges, 0, "nothing was sent to Vercel");
}

#[tokio::test]
async fn cross_site_posts_change_nothing() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let response = world
        .browser
        .post(format!("{}/api/link_projects", world.tether))
        .header("sec-fetch-site", "cross-site")
        .form(&[("configuration_id", popup.configuration_id.as_str()), ("choices[prj_acme000]", "new")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(world.sim.sim.snapshot().env.is_empty());
}

#[tokio::test]
async fn twenty_concurrent_callbacks_with_one_code_make_one_exchange_and_one_row() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let attempts = (0..20).map(|_| {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        let url = url.clone();
        async move { client.get(&url).send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::CONFLICT), "{statuses:?}");
    assert_eq!(world.sim.sim.snapshot().exchanges, 1);
    assert_eq!(world.installation_rows().await, 1);
}

#[tokio::test]
async fn identities_in_the_query_that_disagree_with_vercel_abort_the_install() {
    let world = world().await;
    for tamper in ["configurationId", "teamId"] {
        let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
        let forged = match tamper {
            "configurationId" => {
                let real = url.split("configurationId=").nth(1).unwrap().split('&').next().unwrap().to_owned();
                url.replace(&real, "icfg_forgedbyattacker")
            }
            // Another team than Vercel's answer names. (A missing teamId is no disagreement:
            // the answer's team is used, as for a Hobby team.)
            _ => url.replace(
                &format!("&teamId={}", vercel_sim::TEAM_ID),
                &format!("&teamId={}", vercel_sim::HOBBY_TEAM_ID),
            ),
        };
        let response = world.browser.get(&forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{tamper}");
        assert!(response.headers().get(header::SET_COOKIE).is_none(), "{tamper}: no session");
        assert!(response.text().await.unwrap().contains("does not match"), "{tamper}");
    }
    assert_eq!(world.installation_rows().await, 0, "nothing stored");
}

/// The token answer may leave out `installation_id`. An attacker then puts a victim's
/// installation (and team) into their own install link: Tether must learn from Vercel that the
/// token is not the victim's, refuse, keep the victim's token and give the attacker no session.
#[tokio::test]
async fn someone_elses_installation_in_an_install_link_is_refused_when_the_token_answer_names_none() {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.token_omits_installation = true);
    // An honest install still works: the token proves its own installation.
    let victim = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&victim.configuration_id, &[("prj_acme010", "new")]).await.status(), StatusCode::FOUND);
    assert_eq!(world.sim.sim.snapshot().env["prj_acme010"].len(), 3);

    let attacker = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    for swap_team in [false, true] {
        let own = world.sim.sim.begin_install(vercel_sim::HOBBY_TEAM_ID, "marketplace").unwrap();
        let own_id = own.split("configurationId=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let mut forged = own.replace(&own_id, &victim.configuration_id);
        if swap_team {
            forged = forged.replace(vercel_sim::HOBBY_TEAM_ID, vercel_sim::TEAM_ID);
        }
        let response = attacker.get(&forged).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "swap team: {swap_team}");
        assert!(response.headers().get(header::SET_COOKIE).is_none(), "no session for the attacker");
        let page = response.text().await.unwrap();
        assert!(page.contains("data-failure=\"installation-unproven\""), "its own page: {page}");
        assert!(page.contains("not for this installation"));
    }
    for path in [
        format!("/install/{}", victim.configuration_id),
        format!("/configure?configurationId={}", victim.configuration_id),
    ] {
        let response = attacker.get(format!("{}{path}", world.tether)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!response.text().await.unwrap().contains("acme-app-010"), "{path}");
    }
    assert_eq!(world.installation_rows().await, 1, "the attacker's link stored nothing");

    // The victim's token was not replaced: their Disconnect still removes the variables at Vercel.
    let response = world
        .post_form("unlink_project", &[("configuration_id", &victim.configuration_id), ("project_id", "prj_acme010")])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=unlinked"));
    let left = world.sim.sim.snapshot().env.get("prj_acme010").cloned().unwrap_or_default();
    assert!(left.is_empty(), "the victim's variables are gone: {left:?}");
}

#[tokio::test]
async fn an_unknown_or_expired_code_gets_a_page_with_the_way_back() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let real = url.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let response = world.browser.get(url.replace(&real, "codeVercelNeverIssued1234")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.unwrap();
    assert!(body.contains("has expired") && body.contains("Return to Vercel"), "{body}");
    assert!(body.contains(r#"data-failure="code-expired""#), "its own page");
    assert_eq!(world.installation_rows().await, 0);
}

#[tokio::test]
async fn connect_after_a_failure_finishes_without_a_second_resource() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    for _ in 0..4 {
        // More 500s than the client retries: this attempt fails.
        world.sim.sim.fail_next("POST", "/v10/projects/prj_acme060/env", 500);
    }
    let response = world.connect(&popup.configuration_id, &[("prj_acme060", "new")]).await;
    assert_eq!(response.headers()[header::LOCATION].to_str().unwrap(), format!("/install/{}", popup.configuration_id));
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    assert!(page.contains("Vercel did not answer as expected"), "the failure is shown on the row");
    assert!(!world.sim.sim.snapshot().env.contains_key("prj_acme060"));

    let response = world.connect(&popup.configuration_id, &[("prj_acme060", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "on to the last step");
    assert_eq!(world.sim.sim.snapshot().env["prj_acme060"].len(), 3);
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert_eq!(page.matches(r#"data-resource="acme-app-060-db""#).count(), 1, "the retry reused the first resource");
}

/// Calls that list the account's projects at Vercel (every page of every listing).
fn project_listings(world: &crate::support::World) -> usize {
    world.sim.sim.snapshot().calls.iter().filter(|c| c.method == "GET" && c.path.ends_with("/projects")).count()
}

#[tokio::test]
async fn the_project_list_is_cached_briefly_and_dropped_when_vercel_says_it_changed() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let page = format!("/install/{}", popup.configuration_id);
    let listed = project_listings(&world);
    assert!(listed > 0, "the popup's first load lists the projects at Vercel");
    assert!(popup.page.contains("Refresh the list"), "the page offers a refresh");

    // Reloads and searches are served from the cache: no call to Vercel at all, not even for
    // the team's name.
    let calls = world.sim.sim.snapshot().calls.len();
    for path in [page.clone(), format!("{page}?q=acme-app-01"), page.clone()] {
        let shown = world.get(&path).await.text().await.unwrap();
        assert!(shown.contains("Acme Robotics"), "the scope's name is shown from the cache");
    }
    assert_eq!(project_listings(&world), listed, "no listing at Vercel for a reload or a search");
    assert_eq!(world.sim.sim.snapshot().calls.len(), calls, "a cached page load asks Vercel nothing");

    // Vercel says a project was created: the next load lists again, and shows it.
    let project = world.sim.sim.create_project(vercel_sim::TEAM_ID).unwrap();
    let delivery = loop {
        let found = world.sim.sim.deliveries().into_iter().find(|d| d.kind == "project.created");
        match found {
            Some(d) if d.statuses.contains(&200) => break d.id,
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    };
    world.applied(&delivery).await;
    let shown = world.get(&page).await.text().await.unwrap();
    assert!(shown.contains(&project.name), "the new project is listed");
    let after_webhook = project_listings(&world);
    assert!(after_webhook > listed, "listed again after project.created");

    // The Refresh link always asks Vercel.
    assert_eq!(world.get(&format!("{page}?refresh=1")).await.status(), StatusCode::OK);
    assert!(project_listings(&world) > after_webhook, "Refresh lists at Vercel");
}

/// Vercel's review asks that every variable say what it is for (`comment`). A template's comment
/// is written as it is; a template without one gets one naming the vendor.
#[tokio::test]
async fn every_variable_tether_writes_carries_a_comment() {
    let config = r#"
[provider]
name = "Acme DB"
[[provider.env]]
key = "ACME_URL"
value = "{url}"
comment = "The URL of your Acme DB database."
[[provider.env]]
key = "ACME_API_KEY"
value = "{api_key}"
secret = true
"#;
    let world = crate::support::world_with(Some(config)).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme012", "new")]).await.status(), StatusCode::FOUND);
    let vars = world.sim.sim.snapshot().env["prj_acme012"].clone();
    assert_eq!(vars.len(), 3);
    for var in &vars {
        let comment = var.comment.as_deref().unwrap_or_else(|| panic!("{} has no comment", var.key));
        match var.key.as_str() {
            "ACME_URL" => assert_eq!(comment, "The URL of your Acme DB database."),
            _ => assert_eq!(comment, "Set by the Acme DB integration for the resource connected to this project."),
        }
    }
}

/// Without `installation_id` in the token answer, the installation is proven by reading it at
/// Vercel: for a personal account (`teamId: null`) that works as for a team, and an integration
/// without the `integration-configuration` scope cannot prove it, so the install fails closed.
#[tokio::test]
async fn an_installation_is_proven_for_a_personal_account_and_refused_when_it_cannot_be() {
    let world = world().await;
    world.sim.sim.set_quirks(|q| q.token_omits_installation = true);
    let personal = world.open_popup(vercel_sim::PERSONAL_USER_ID).await;
    let row = world.store().await.installation(&icfg(&personal.configuration_id)).await.unwrap().unwrap();
    assert_eq!((row.team_id, row.user_id.as_str()), (None, vercel_sim::PERSONAL_USER_ID));

    world.sim.sim.set_scopes(&["read:project", "read-write:project-env-vars", "read:team", "read:user"]);
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let browser = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "nothing proves the installation");
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    assert!(response.text().await.unwrap().contains(r#"data-failure="installation-unproven""#));
    assert_eq!(world.installation_rows().await, 1, "only the personal installation is stored");
}
