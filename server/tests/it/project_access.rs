//! Installations limited to some projects: at Vercel a user installs for all projects or for
//! selected ones. Tether offers only the projects the installation was given, fixes the choice
//! when there is one, follows changes of access, and refuses the others in words that say why.

use reqwest::{header, StatusCode};
use server::store::links::LinkStatus;
use vercel_sim::Begin;

use crate::support::{icfg, World};

const GIVEN: [&str; 3] = ["prj_acme010", "prj_acme020", "prj_acme030"];

/// Installs for `projects` (`None`: all) and returns the installation's id and its page.
async fn install_for(world: &World, projects: Option<&[&str]>) -> (String, String) {
    let projects: Option<Vec<String>> = projects.map(|p| p.iter().map(|p| p.to_string()).collect());
    let begin = Begin { account_id: vercel_sim::TEAM_ID, projects: projects.as_deref(), ..Begin::default() };
    let url = world.sim.sim.begin(&begin).unwrap();
    let response = world.browser.get(&url).send().await.unwrap();
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let page = world.get(&location).await;
    assert_eq!(page.status(), StatusCode::OK);
    (location.trim_start_matches("/install/").to_owned(), page.text().await.unwrap())
}

fn rows(page: &str) -> usize {
    page.matches(r#"<li class="project"#).count()
}

#[tokio::test]
async fn three_given_projects_are_the_only_ones_offered_and_others_are_refused() {
    let world = crate::support::world().await;
    let (cfg, page) = install_for(&world, Some(&GIVEN)).await;
    assert_eq!(rows(&page), 3);
    assert!(GIVEN.iter().all(|p| page.contains(&format!("choices[{p}]"))));
    assert!(
        page.contains("This installation was given 3 of the account&#x27;s projects at Vercel")
            || page.contains("This installation was given 3 of the account's projects at Vercel"),
        "{page}"
    );
    assert!(page.contains("Don&#x27;t connect") || page.contains("Don't connect"), "the user still picks among them");

    // A project outside the three, posted by hand after the listing went stale: refused before
    // anything reaches Vercel, from the cached listing, without listing every project again.
    world.store().await.age_by(2 * 60_000).await.unwrap();
    let writes = || world.sim.sim.snapshot().calls.iter().filter(|c| c.method == "POST").count();
    let listings = || world.sim.sim.snapshot().calls.iter().filter(|c| c.path == "/v10/projects").count();
    let (before, listed) = (writes(), listings());
    let response = world.connect(&cfg, &[("prj_acme040", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND, "the plain form goes back to the page");
    assert_eq!(writes(), before, "nothing was written");
    assert_eq!(listings(), listed, "the check read the cached listing");
    assert!(!world.sim.sim.snapshot().env.contains_key("prj_acme040"));
    let response = world.connect(&cfg, &[("prj_acme020", "new")]).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("/done"));
}

#[tokio::test]
async fn one_given_project_comes_chosen_with_the_selection_fixed() {
    let world = crate::support::world().await;
    let (cfg, page) = install_for(&world, Some(&["prj_acme020"])).await;
    assert_eq!(rows(&page), 1);
    assert!(page.contains("This installation was given one project at Vercel, acme-app-020"), "{page}");
    assert!(!page.contains(r#"<option value="skip""#), "the project cannot be left out");
    assert!(page.contains(r#"<option value="new" selected>"#), "it comes chosen with a new resource");
    let search = page.split(r#"role="search""#).nth(1).unwrap().split('>').next().unwrap();
    assert!(search.contains(" hidden"), "no search: {search}");
    assert_eq!(world.connect(&cfg, &[("prj_acme020", "new")]).await.status(), StatusCode::FOUND);
    assert!(world.sim.sim.env_value("prj_acme020", "ACME_URL", "production").is_some());
}

/// Vercel's list may show every project of the account; Tether still offers only the given ones,
/// from the installation's own `projects`.
#[tokio::test]
async fn a_list_that_shows_every_project_is_narrowed_to_the_given_ones() {
    let world = crate::support::world().await;
    world.sim.sim.set_quirks(|q| q.lists_unselected_projects = true);
    let (_, page) = install_for(&world, Some(&GIVEN)).await;
    assert_eq!(rows(&page), 3);
    let (_, page) = install_for(&world, None).await;
    assert_eq!(rows(&page), vercel_sim::TEAM_PROJECTS, "installed for all projects: all of them");
    assert!(!page.contains(r#"data-testid="project-access""#));
}

/// The owner changes the installation's project access at Vercel: the page follows, and the
/// link to a project taken away is closed.
#[tokio::test]
async fn a_change_of_project_access_is_followed_and_a_removed_projects_link_closed() {
    let world = crate::support::world().await;
    let (cfg, _) = install_for(&world, Some(&GIVEN)).await;
    world.connect(&cfg, &[("prj_acme010", "new")]).await;
    assert!(world.sim.sim.set_project_access(&cfg, Some(&["prj_acme020", "prj_acme030", "prj_acme050"])));
    let event =
        world.sim.sim.deliveries().into_iter().rfind(|d| d.kind == "integration-configuration.permission-upgraded");
    let outcome = world.applied(&event.unwrap().id).await;
    assert_eq!(outcome, "closed 1 link(s) for projects no longer shared");
    let link = world.store().await.link(&icfg(&cfg), "prj_acme010").await.unwrap().unwrap();
    assert_eq!(link.status, LinkStatus::Closed);

    let page = world.get(&format!("/install/{cfg}")).await.text().await.unwrap();
    assert_eq!(rows(&page), 3);
    assert!(page.contains("choices[prj_acme050]") && !page.contains("prj_acme010"), "added and taken away");
}

/// The simulator plays Vercel's permission model: the token of an installation given some
/// projects lists only those and is refused on any other.
#[tokio::test]
async fn the_simulator_refuses_a_token_on_a_project_outside_the_selection() {
    let world = crate::support::world().await;
    install_for(&world, Some(&GIVEN)).await;
    let token = world.sim.sim.issued_tokens().pop().unwrap();
    let call = |path: &str| {
        let url = format!("{}{path}?teamId={}", world.sim.url(), vercel_sim::TEAM_ID);
        reqwest::Client::new().get(url).bearer_auth(&token).send()
    };
    assert_eq!(call("/v9/projects/prj_acme010").await.unwrap().status(), StatusCode::OK);
    let refused = call("/v9/projects/prj_acme040").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(call("/v10/projects/prj_acme040/env").await.unwrap().status(), StatusCode::FORBIDDEN);
    let listed: serde_json::Value = call("/v10/projects").await.unwrap().json().await.unwrap();
    assert_eq!(listed["projects"].as_array().unwrap().len(), 3);
    let access: serde_json::Value =
        call(&format!("/v1/integrations/configuration/{}", world.sim.sim.snapshot().installations[0].id))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(access["projectSelection"], "selected");
    assert_eq!(access["projects"].as_array().unwrap().len(), 3);
}

/// Vercel's schemas show an installation's projects as ids or as `{id}` objects, in its
/// configuration and in `permission-upgraded` alike: both are read.
#[tokio::test]
async fn projects_sent_as_objects_are_read_as_ids() {
    let world = crate::support::world().await;
    world.sim.sim.set_quirks(|q| q.projects_as_objects = true);
    world.sim.sim.set_quirks(|q| q.lists_unselected_projects = true);
    let (cfg, page) = install_for(&world, Some(&GIVEN)).await;
    assert_eq!(rows(&page), 3, "narrowed by the objects' ids");
    world.connect(&cfg, &[("prj_acme010", "new")]).await;
    assert!(world.sim.sim.set_project_access(&cfg, Some(&["prj_acme020"])));
    let event =
        world.sim.sim.deliveries().into_iter().rfind(|d| d.kind == "integration-configuration.permission-upgraded");
    let event = event.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&event.body).unwrap();
    assert_eq!(body["payload"]["projects"]["removed"][0]["id"], "prj_acme010", "sent as objects");
    // prj_acme010 and prj_acme030 were taken away; only the first was linked.
    assert_eq!(world.applied(&event.id).await, "closed 2 link(s) for projects no longer shared");
    let link = world.store().await.link(&icfg(&cfg), "prj_acme010").await.unwrap().unwrap();
    assert_eq!(link.status, LinkStatus::Closed);
}
