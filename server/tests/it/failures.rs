//! Each failure has its own page, saying what happened and what to do, with a way back to
//! Vercel's `next`. The pages met for real are checked where each failure is provoked (code
//! expired and used in `install`, state mismatch in `flows`, a lost exchange in `faults`, rate
//! limits in `vercel_shapes`, removal in `webhooks`, the vendor down in `vendor`); here, Vercel
//! failing the listing, and the sandbox's gallery, which renders every one of them.

use reqwest::{header, StatusCode};

use crate::support::{kill, world, Deployment};

#[tokio::test]
async fn vercel_failing_the_listing_has_its_own_page_with_a_retry_and_the_way_back_to_next() {
    let world = world().await;
    let url = world.sim.sim.begin_install(vercel_sim::TEAM_ID, "marketplace").unwrap();
    let next = url.split("next=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let next = url::form_urlencoded::parse(format!("n={next}").as_bytes()).next().unwrap().1.into_owned();
    let callback = world.browser.get(&url).send().await.unwrap();
    let location = callback.headers()[header::LOCATION].to_str().unwrap().to_owned();
    for _ in 0..4 {
        world.sim.sim.fail_next("GET", "/v10/projects", 503);
        world.sim.sim.fail_next("GET", "/v9/projects", 503);
    }
    let response = world.get(&location).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"data-failure="vercel-unreachable""#), "{page}");
    assert!(page.contains("Vercel is not answering"), "{page}");
    assert!(page.contains(&format!(r#"href="{location}" class="button">Try again"#)), "{page}");
    let escaped = next.replace('&', "&amp;");
    assert!(page.contains(&format!(r#"href="{escaped}" class="button">Return to Vercel"#)), "back to next: {page}");
}

#[tokio::test]
async fn the_sandbox_gallery_renders_every_failure_page() {
    let world = world().await;
    let index = world.get("/sandbox/failures").await.text().await.unwrap();
    let names: Vec<String> = index
        .match_indices("href=\"/sandbox/failures/")
        .map(|(at, found)| index[at + found.len()..].split('"').next().unwrap().to_owned())
        .collect();
    assert!(names.len() >= 19, "{names:?}");
    let mut titles = std::collections::HashSet::new();
    for name in &names {
        let response = world.get(&format!("/sandbox/failures/{name}")).await;
        assert!(response.status().as_u16() >= 400, "{name}: {}", response.status());
        let page = response.text().await.unwrap();
        let title = page.split("<h1>").nth(1).unwrap().split("</h1>").next().unwrap().to_owned();
        titles.insert(title);
        assert!(page.contains(r#"class="advice""#), "{name}: says what to do");
        assert!(page.contains(">Return to Vercel</a>"), "{name}: a way back");
    }
    assert_eq!(titles.len(), names.len(), "every page has a title of its own: {titles:?}");
}

#[tokio::test]
async fn outside_the_sandbox_there_is_no_gallery() {
    let deployment = Deployment::new().await;
    let child = deployment.start(&server::seal::Sealer::generate_spec("k1")).await;
    let response = reqwest::get(format!("{}/sandbox/failures/code-expired", deployment.tether)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains(r#"data-failure="not-found""#));
    kill(child);
}
