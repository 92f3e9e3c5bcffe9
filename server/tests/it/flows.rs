//! The other ways in: the external flow (state bound to the browser that started it) and the
//! Deploy Button (a new project preselected, an existing installation reused).

use reqwest::{header, redirect::Policy, StatusCode};
use vercel_sim::Begin;

use crate::support::{world, World};

const EXCHANGE: &str = "/v2/oauth/access_token";

/// Starts the external flow in a cookie-less client; returns the state and the cookie it set.
async fn start(world: &World) -> (String, String) {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let response = client.get(format!("{}/install/start", world.tether)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/integrations/tether/new?state=", world.sim.url())), "{location}");
    let state = location.split("state=").nth(1).unwrap().to_owned();
    assert_eq!(state.len(), 32, "128 random bits, hex");
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"));
    (state, cookie.split(';').next().unwrap().to_owned())
}

fn external_callback(world: &World, state: Option<&str>) -> String {
    world
        .sim
        .sim
        .begin(&Begin { account_id: vercel_sim::TEAM_ID, source: "external", state, ..Begin::default() })
        .unwrap()
}

async fn arrive(url: &str, cookie: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

fn exchanges(world: &World) -> usize {
    world.sim.sim.snapshot().calls.iter().filter(|c| c.path == EXCHANGE).count()
}

#[tokio::test]
async fn the_external_flow_works_once_in_the_browser_that_started_it() {
    let world = world().await;
    let (state, cookie) = start(&world).await;
    let url = external_callback(&world, Some(&state));
    let response = arrive(&url, Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared =
        response.headers().get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap().contains("Max-Age=0"));
    assert!(cleared, "the state cookie is spent");
    // The same state again, even with a copy of the old cookie: refused before any call.
    let again = external_callback(&world, Some(&state));
    let response = arrive(&again, Some(&cookie)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("already used"));
    assert_eq!(exchanges(&world), 1);
}

#[tokio::test]
async fn bad_states_are_refused_before_anything_reaches_vercel() {
    let world = world().await;
    let (state, cookie) = start(&world).await;
    // One hex digit changed (a fixed replacement would equal the original one time in sixteen).
    let last = if state.ends_with('0') { '1' } else { '0' };
    let altered = format!("{}{last}", &state[..31]);
    let expired_cookie = {
        let (name_state, _) = cookie.rsplit_once('.').unwrap();
        format!("{name_state}.{}", 1)
    };
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("missing", external_callback(&world, None), Some(cookie.clone())),
        ("altered", external_callback(&world, Some(&altered)), Some(cookie.clone())),
        ("foreign browser", external_callback(&world, Some(&state)), None),
        ("expired", external_callback(&world, Some(&state)), Some(expired_cookie)),
    ];
    for (case, url, cookie) in cases {
        let response = arrive(&url, cookie.as_deref()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        let body = response.text().await.unwrap();
        assert!(body.contains("Start again") && body.contains("/install/start"), "{case}: a way to start over");
        assert!(body.contains(r#"data-failure="state-mismatch""#), "{case}: its own page");
        assert!(body.contains("Return to Vercel"), "{case}");
    }
    assert_eq!(exchanges(&world), 0, "no call reached Vercel");
    assert_eq!(world.installation_rows().await, 0);
}

#[tokio::test]
async fn the_deploy_button_preselects_its_project_and_reuses_the_installation() {
    let world = world().await;
    let first = world.open_popup(vercel_sim::TEAM_ID).await;
    let project = world.sim.sim.create_project(vercel_sim::TEAM_ID).unwrap();
    let url = world
        .sim
        .sim
        .begin(&Begin {
            account_id: vercel_sim::TEAM_ID,
            source: "deploy-button",
            current_project_id: Some(&project.id),
            external_id: Some("template-42"),
            ..Begin::default()
        })
        .unwrap();
    assert!(url.contains(&first.configuration_id), "Vercel sends the existing configurationId");
    let response = world.browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(world.installation_rows().await, 1, "never two rows for one installation");
    let page = world.get(&format!("/install/{}", first.configuration_id)).await.text().await.unwrap();
    let row = &page[page.find(&format!("choices[{}]", project.id)).expect("the new project is listed")..];
    let select = &row[..row.find("</select>").unwrap()];
    assert!(select.contains(r#"<option value="new" selected"#), "the deployed project is preselected: {select}");
    let first_row = &page[page.find(r#"<li class="project"#).unwrap()..];
    let first_row = &first_row[..first_row.find("</li>").unwrap()];
    assert!(first_row.contains(&project.id), "the deployed project leads the list, above the fold: {first_row}");
    let response = world.connect(&first.configuration_id, &[(&project.id, "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(world.link_external_id(&first.configuration_id, &project.id).await.as_deref(), Some("template-42"));
    assert_eq!(world.sim.sim.snapshot().env[&project.id].len(), 3, "written with the current token");
}

#[tokio::test]
async fn a_big_teams_list_shows_a_screen_of_projects_and_folds_the_rest() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    // Plain rows, and the one chosen for the user (`project recent`).
    let row = r#"<li class="project"#;
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    let total = page.matches(row).count();
    assert!(total >= 250, "every project is on the page, folded or not: {total}");
    let (shown, folded) = page.split_once(r#"<li class="more"><details><summary>"#).expect("the rest is folded");
    assert_eq!(shown.matches(row).count(), 8);
    assert!(folded.starts_with(&format!("Show {} more projects</summary>", total - 8)), "{}", &folded[..80]);
    let searched = world.get(&format!("/install/{}?q=acme-app-07", popup.configuration_id)).await.text().await.unwrap();
    assert_eq!(searched.matches(row).count(), 10, "acme-app-070 to 079, folded or not");
    assert!(searched.contains("Show 2 more projects</summary>"), "a search's results past a screen are folded too");
    let searched =
        world.get(&format!("/install/{}?q=acme-app-070", popup.configuration_id)).await.text().await.unwrap();
    assert_eq!(searched.matches(row).count(), 1);
    assert!(!searched.contains(r#"<li class="more">"#), "what fits a screen is not folded");
}

/// The text of the page's summary line.
fn summary(page: &str) -> &str {
    let line = page.split(r#"data-testid="summary""#).nth(1).expect("a summary line");
    line.split_once('>').unwrap().1.split('<').next().unwrap()
}

/// Projects linked already are grouped apart, after the ones still to choose, and the page's
/// summary says what Connect would do as it opens.
#[tokio::test]
async fn linked_projects_are_grouped_apart_and_the_summary_says_what_connect_will_do() {
    let world = world().await;
    let popup = world.open_popup(vercel_sim::HOBBY_TEAM_ID).await;
    assert_eq!(
        summary(&popup.page),
        "1 project chosen: 1 new resource. The most recently updated project comes chosen."
    );
    let first_project = popup.page.split(r#"name="choices["#).nth(1).unwrap().split(']').next().unwrap().to_owned();
    assert_eq!(world.connect(&popup.configuration_id, &[(&first_project, "new")]).await.status(), StatusCode::FOUND);

    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    let (open, linked) = page.split_once(r#"<li class="group">Linked already (1)</li>"#).expect("a group of its own");
    assert!(!open.contains(r#"<span class="linked">"#), "no linked project among those to choose");
    assert_eq!(linked.matches(r#"<span class="linked">"#).count(), 1, "the linked project is in the group");
    assert!(!linked.contains(&format!("choices[{first_project}]")), "nothing to choose for it");
}

/// The Deploy Button's project leads the list, marked, with a new resource chosen.
#[tokio::test]
async fn the_deploy_buttons_project_leads_marked_and_chosen() {
    let world = world().await;
    let project = world.sim.sim.create_project(vercel_sim::TEAM_ID).unwrap();
    let begin = Begin {
        account_id: vercel_sim::TEAM_ID,
        source: "deploy-button",
        current_project_id: Some(&project.id),
        ..Begin::default()
    };
    let url = world.sim.sim.begin(&begin).unwrap();
    let location = world.browser.get(&url).send().await.unwrap().headers()[header::LOCATION].clone();
    let page = world.get(location.to_str().unwrap()).await.text().await.unwrap();
    let first = page.split(r#"<li class="project"#).nth(1).unwrap();
    assert!(first.starts_with(r#" current" aria-current="true"><span>"#), "{}", &first[..120]);
    assert!(first.contains("Just deployed") && first.contains(&format!("choices[{}]", project.id)));
    assert_eq!(summary(&page), "1 project chosen: 1 new resource.");
}

/// The projects a page's form would post as it opens: those whose select comes with a choice.
fn chosen_as_opened(page: &str) -> Vec<(String, String)> {
    page.split(r#"<select name="choices["#)
        .skip(1)
        .filter_map(|rest| {
            let (project, options) = rest.split_once(']').unwrap();
            let options = options.split("</select>").next().unwrap();
            let selected = options.split("<option value=\"").skip(1).find(|o| o.contains("\" selected>"))?;
            let value = selected.split('"').next().unwrap();
            (value != "skip").then(|| (project.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Vercel's approval checklist: the first install from the marketplace comes with the most
/// recently updated project chosen, marked, with a new resource, so one click on Connect
/// finishes the common install. Once something is linked, nothing is chosen for the user.
#[tokio::test]
async fn a_first_marketplace_install_comes_with_the_most_recent_project_chosen() {
    let world = world().await;
    // Renaming makes acme-app-120 the most recently updated project, far down the list.
    assert!(world.sim.sim.rename_project("prj_acme120", "robot-arm"));
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(chosen_as_opened(&popup.page), [("prj_acme120".to_string(), "new".to_string())]);
    let first = popup.page.split(r#"<li class="project"#).nth(1).unwrap();
    assert!(
        first.starts_with(r#" recent"><span>robot-arm</span><span class="badge">Updated most recently"#),
        "it leads, marked: {}",
        &first[..120]
    );
    assert_eq!(
        summary(&popup.page),
        "1 project chosen: 1 new resource. The most recently updated project comes chosen."
    );

    // One click: the form as it opened.
    let choices: Vec<(String, String)> = chosen_as_opened(&popup.page);
    let choices: Vec<(&str, &str)> = choices.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let response = world.connect(&popup.configuration_id, &choices).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"), "finished in one click");
    assert!(world.sim.sim.env_value("prj_acme120", "ACME_URL", "production").is_some());

    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    assert!(chosen_as_opened(&page).is_empty(), "with a project linked, nothing is chosen for the user");
    assert_eq!(summary(&page), "No project chosen yet.");
}

/// Only the marketplace popup chooses for the user: the external flow starts from the vendor's
/// site, where the user already said what they want.
#[tokio::test]
async fn the_external_flow_chooses_nothing_for_the_user() {
    let world = world().await;
    let started = world.get("/install/start").await;
    let state = started.headers()[header::LOCATION].to_str().unwrap().split("state=").nth(1).unwrap().to_owned();
    let url = external_callback(&world, Some(&state));
    let location = world.browser.get(&url).send().await.unwrap().headers()[header::LOCATION].clone();
    let page = world.get(location.to_str().unwrap()).await.text().await.unwrap();
    assert!(chosen_as_opened(&page).is_empty());
    assert_eq!(summary(&page), "No project chosen yet.");
}
