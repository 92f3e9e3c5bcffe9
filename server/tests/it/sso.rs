//! Single sign-on from Vercel into a native installation, as a browser meets it: "Open in …" at
//! the simulator, Tether's Redirect Login URL, the code exchanged over real HTTP, the session and
//! the page; and every way it must sign nobody in.

use reqwest::{header, StatusCode};
use serde_json::json;
use vercel_sim::sso::{SsoContext, SsoFault};

use crate::support::World;

/// A native installation of Alice's with one resource connected to her first project; its id,
/// the resource's and the project's name.
pub(crate) async fn installed(world: &World) -> (String, String, String) {
    let sim = &world.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let resource = sim.native_provision(&id, "tether", "main-db", json!({}), "free").await.unwrap();
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0);
    sim.native_connect(&id, &resource.id, &project.id).unwrap();
    for delivery in sim.deliveries() {
        world.applied(&delivery.id).await;
    }
    (id, resource.id, project.name)
}

/// What a browser sees when it opens `link`: the status, where it is sent, and whether it was
/// given a session.
async fn open(user: &reqwest::Client, link: &str) -> (StatusCode, Option<String>, bool, String) {
    let response = user.get(link).send().await.unwrap();
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_owned());
    let session =
        response.headers().get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap().contains("session"));
    (status, location, session, response.text().await.unwrap())
}

/// A browser of its own: its cookies, and each hop seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn installer() -> String {
    vercel_sim::PERSONAL_USER_ID.to_owned()
}

#[tokio::test]
async fn open_in_vendor_signs_the_user_in_on_their_installations_page() {
    let world = crate::support::world().await;
    let (id, resource, project) = installed(&world).await;
    let context = SsoContext { resource: Some(resource.clone()), path: Some("secrets".into()), ..Default::default() };
    let link = world.sim.sim.sso_link(&id, &installer(), "ADMIN", &context).unwrap();
    assert!(link.starts_with(&format!("{}/sso?mode=sso&code=", world.tether)), "{link}");
    let user = browser();
    let (status, location, session, _) = open(&user, &link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(session, "the sign-in opens a session");
    let location = location.unwrap();
    assert_eq!(location, format!("/native/{id}?resource={resource}&path=secrets"));
    let page = user.get(format!("{}{location}", world.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Alice Example"), "the team Vercel named");
    assert!(html.contains("main-db") && html.contains(&format!("Connected to {project}")), "{html}");
    assert!(html.contains(&format!(r#"data-resource="{resource}" data-focused="true""#)), "{html}");
    assert!(html.contains(r#"data-read-only="false""#), "the installer is an admin");
    assert!(
        html.contains("Vercel keeps each resource&#x27;s secrets")
            || html.contains("Vercel keeps each resource's secrets")
    );
    assert!(!html.contains("eyJ"), "the id_token is never shown");
    assert_eq!(world.sim.sim.sso_exchanges(), (1, 1), "one code, exchanged once");

    // A session of this installation does not open another's page.
    let other = world.sim.sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let elsewhere = user.get(format!("{}/native/{other}", world.tether)).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
}

/// A browser without a session is sent to sign in through Vercel (provider-initiated single
/// sign-on), which brings it back signed in, at the resource it asked for.
#[tokio::test]
async fn a_page_opened_without_a_session_signs_in_through_vercel() {
    let world = crate::support::world().await;
    let (id, resource, _) = installed(&world).await;
    let user = browser();
    let page = user.get(format!("{}/native/{id}?resource={resource}", world.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-failure="sso-sign-in""#), "{html}");
    let link = format!("{}/sso/integrations/tether/{id}?resource_id={resource}", world.sim.url());
    assert!(html.contains(&link.replace('&', "&amp;")) || html.contains(&link), "{html}");
    // Vercel checks the user may use the installation, then runs the usual sign-in.
    let (status, to_tether, _, _) = open(&user, &link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, location, session, _) = open(&user, &to_tether.unwrap()).await;
    assert_eq!((status, session), (StatusCode::SEE_OTHER, true));
    assert_eq!(location.unwrap(), format!("/native/{id}?resource={resource}"));
    let page = user.get(format!("{}/native/{id}?resource={resource}", world.tether)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // An id that is no installation's gets the same page: Vercel, not Tether, tells who may.
    let unknown = browser().get(format!("{}/native/icfg_nobody", world.tether)).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
}

/// A vendor may have entered the popup's Redirect URL as the Redirect Login URL too: `mode=sso`
/// there signs in the same way, and never starts an install.
#[tokio::test]
async fn the_callback_address_signs_in_too_and_a_viewer_is_read_only() {
    let world = crate::support::world().await;
    let (id, _, _) = installed(&world).await;
    let viewer = format!("{}_viewer", installer());
    let link = world.sim.sim.sso_link(&id, &viewer, "USER", &SsoContext::default()).unwrap();
    let link = link.replacen("/sso?", "/callback?", 1);
    let user = browser();
    let (status, location, session, _) = open(&user, &link).await;
    assert_eq!((status, location.as_deref(), session), (StatusCode::SEE_OTHER, Some(&*format!("/native/{id}")), true));
    let html = user.get(format!("{}/native/{id}", world.tether)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"data-read-only="true""#), "Vercel's USER role is read only");
}

/// Each way single sign-on must fail: its own page, no session, and nothing else changed.
#[tokio::test]
async fn every_sso_refusal_has_its_page_and_signs_nobody_in() {
    let world = crate::support::world().await;
    let sim = &world.sim.sim;
    let (id, _, _) = installed(&world).await;
    let admin = |context: &SsoContext| sim.sso_link(&id, &installer(), "ADMIN", context).unwrap();
    let failure =
        |html: &str| html.split(r#"data-failure=""#).nth(1).map(|rest| rest.split('"').next().unwrap().to_owned());

    // A link used twice: the second is Vercel's refusal.
    let link = admin(&SsoContext::default());
    assert_eq!(open(&browser(), &link).await.0, StatusCode::SEE_OTHER);
    let mut cases: Vec<(&str, String, StatusCode, &str)> =
        vec![("a replayed code", link, StatusCode::BAD_REQUEST, "sso-code-refused")];
    for (what, fault, status, kind) in [
        ("a code issued to another integration", SsoFault::AnotherClient, StatusCode::BAD_REQUEST, "sso-code-refused"),
        ("an expired id_token", SsoFault::Expired, StatusCode::FORBIDDEN, "sso-unverified"),
        ("an id_token for another integration", SsoFault::WrongAudience, StatusCode::FORBIDDEN, "sso-unverified"),
        ("an id_token signed by an unknown key", SsoFault::UnknownKey, StatusCode::FORBIDDEN, "sso-unverified"),
        ("a Partner API token as an id_token", SsoFault::AccessTokenType, StatusCode::FORBIDDEN, "sso-unverified"),
    ] {
        sim.set_sso_fault(Some(fault));
        cases.push((what, admin(&SsoContext::default()), status, kind));
    }
    let off_site = SsoContext { url: Some("https://evil.example/steal".into()), ..Default::default() };
    cases.push(("a url off this site", admin(&off_site), StatusCode::BAD_REQUEST, "sso-foreign-url"));
    let forged = format!("{}/sso?mode=sso&code=sso_made_up_by_someone", world.tether);
    cases.push(("a made-up code", forged, StatusCode::BAD_REQUEST, "sso-code-refused"));
    for (what, link, status, kind) in cases {
        let user = browser();
        let (got, location, session, html) = open(&user, &link).await;
        assert_eq!((got, failure(&html).as_deref()), (status, Some(kind)), "{what}: {html}");
        assert!(location.is_none() && !session, "{what}: nobody is signed in");
        let page = user.get(format!("{}/native/{id}", world.tether)).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN, "{what}: no page without a sign-in");
        assert!(html.contains(&world.sim.url()), "{what}: the way back to Vercel is offered");
    }
    let (asked, answered) = sim.sso_exchanges();
    assert_eq!(answered, 1 + 4, "the refused codes got no id_token, the faulty tokens one each");
    assert_eq!(asked, 1 + 1 + 5 + 1, "a link off this site is refused before its code is spent");

    // A link made before the uninstall: Vercel still signs the user in, Tether has no installation.
    let late = admin(&SsoContext::default());
    sim.native_uninstall(&id).await.unwrap();
    let (status, _, session, html) = open(&browser(), &late).await;
    assert_eq!((status, failure(&html).as_deref(), session), (StatusCode::NOT_FOUND, Some("sso-not-installed"), false));
}

/// Through the vendor's own system: "Open in …" lands on the vendor's site, signed in by a
/// ticket Tether signed, which the vendor takes once and never altered.
#[tokio::test]
async fn through_the_vendors_system_open_in_lands_on_its_site_signed_in_once() {
    let crate::vendor::VendorWorld { world, vendor, .. } = crate::vendor::vendor_world_linking(3, None, true).await;
    let (id, resource, _) = installed(&world).await;
    let context = SsoContext { resource: Some(resource), ..Default::default() };
    let link = world.sim.sim.sso_link(&id, &installer(), "ADMIN", &context).unwrap();
    let user = browser();
    let (status, location, _, _) = open(&user, &link).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.starts_with(&format!("{}?sso=", vendor.link_url())), "{location}");
    let page = user.get(&location).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-role="admin""#) && html.contains("Resource: main-db"), "{html}");
    let again = user.get(&location).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "a ticket signs in once");
    let tampered = location.replacen("sso=", "sso=e", 1);
    assert_eq!(user.get(&tampered).send().await.unwrap().status(), StatusCode::FORBIDDEN, "an altered ticket");
}

/// A browser signed in from Vercel as this member of the installation's team.
async fn signed_in_as(world: &World, id: &str, user: &str, role: &str) -> reqwest::Client {
    let client = browser();
    let link = world.sim.sim.sso_link(id, user, role, &SsoContext::default()).unwrap();
    assert_eq!(open(&client, &link).await.0, StatusCode::SEE_OTHER);
    client
}

/// An admin rotates a resource's secrets on Tether's page: Vercel gets the new ones and writes
/// them into the connected project, and the vendor revokes the old ones only after that. A
/// read-only member is refused, and nothing changes.
#[tokio::test]
async fn an_admin_rotates_from_tethers_page_and_a_viewer_may_not() {
    let world = crate::support::world().await;
    let sim = &world.sim.sim;
    let (id, resource, _) = installed(&world).await;
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0).id;
    let key = || sim.env_value(&project, "ACME_API_KEY", "production");
    let before = key().expect("Vercel wrote the resource's key into the project");
    let rotate = format!("{}/native/{id}/resources/{resource}/rotate", world.tether);

    let viewer = signed_in_as(&world, &id, "user_viewer", "USER").await;
    let page = viewer.get(format!("{}/native/{id}", world.tether)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Rotate secrets"), "a viewer is offered no change");
    let refused = viewer.post(&rotate).header(header::ORIGIN, &world.tether).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains(r#"data-failure="read-only-role""#));

    let admin = signed_in_as(&world, &id, &installer(), "ADMIN").await;
    let page = admin.get(format!("{}/native/{id}", world.tether)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Rotate secrets"), "{page}");
    let pressed = admin.post(&rotate).header(header::ORIGIN, &world.tether).send().await.unwrap();
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    let to = pressed.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/native/{id}?resource={resource}&notice=rotating"));
    until(TEN_SECONDS, || key().as_deref() != Some(before.as_str())).await;
    let after = key().expect("the project keeps the key");
    assert_ne!(after, before, "Vercel wrote the new secret into the connected project");
    assert!(sim.native_api_calls().iter().any(|c| c.starts_with("PUT ") && c.ends_with("/secrets")));
    world.jobs_sent().await;
    let kept = world.store().await.resources_of(&format!("acc_{id}")).await.unwrap();
    assert!(kept.iter().all(|r| r.sealed_pending_key.is_none()), "the vendor finished: only the new key works");
    // The viewer's refused press changed nothing before it: one rotation, one push.
    let pushes = sim.native_api_calls().iter().filter(|c| c.starts_with("PUT ")).count();
    assert_eq!(pushes, 1);
}

/// An admin deletes a resource on Tether's page, once the box is ticked: Vercel removes it and
/// its secrets from the connected project, then Tether lets the vendor release it. A viewer may
/// not, and an unticked form deletes nothing.
#[tokio::test]
async fn an_admin_deletes_a_resource_from_tethers_page_once_confirmed() {
    let world = crate::support::world().await;
    let sim = &world.sim.sim;
    let (id, resource, _) = installed(&world).await;
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0).id;
    let key = || sim.env_value(&project, "ACME_API_KEY", "production");
    assert!(key().is_some(), "Vercel wrote the resource's key into the project");
    let delete = format!("{}/native/{id}/resources/{resource}/delete", world.tether);
    let press = |client: reqwest::Client, form: &'static str| {
        let delete = delete.clone();
        let origin = world.tether.clone();
        async move {
            client
                .post(delete)
                .header(header::ORIGIN, origin)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap()
        }
    };

    let viewer = signed_in_as(&world, &id, "user_viewer", "USER").await;
    let refused = press(viewer, "confirm=yes").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let admin = signed_in_as(&world, &id, &installer(), "ADMIN").await;
    let page = admin.get(format!("{}/native/{id}", world.tether)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Delete main-db"), "{page}");
    let unticked = press(admin.clone(), "").await;
    assert_eq!(unticked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        unticked.headers()[header::LOCATION],
        format!("/native/{id}?resource={resource}&notice=confirm").as_str()
    );
    let pressed = press(admin.clone(), "confirm=yes").await;
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        pressed.headers()[header::LOCATION],
        format!("/native/{id}?resource={resource}&notice=deleting").as_str()
    );
    until(TEN_SECONDS, || key().is_none()).await;
    assert_eq!(key(), None, "Vercel removed the secrets from the connected project");
    assert!(sim.native_resources().iter().all(|r| r.id != resource), "Vercel no longer has the resource");
    let deletes: Vec<String> = sim.native_api_calls().into_iter().filter(|c| c.starts_with("DELETE ")).collect();
    assert_eq!(deletes, [format!("DELETE /v1/installations/{id}/resources/{resource}")], "once, after the tick");
    world.jobs_sent().await;
    let store = world.store().await;
    let installation = server::params::ConfigurationId::parse(&id).unwrap();
    assert!(store.native_resource(&installation, &resource).await.unwrap().is_none(), "deleted at Tether too");
    assert_eq!(store.job_bodies("release").await.unwrap().len(), 1, "the vendor releases what Tether created");
    let page = admin.get(format!("{}/native/{id}", world.tether)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("Delete main-db"), "{page}");
}

/// Vercel busy (429) and failing (503) more often than one run of the job retries: the push
/// waits and tries again until Vercel takes the secrets, and the old ones keep working until it
/// has them.
#[tokio::test]
async fn a_rotation_pushed_through_429s_and_5xx_reaches_vercel_before_the_old_secret_goes() {
    let world = crate::support::world().await;
    let sim = &world.sim.sim;
    let (id, resource, _) = installed(&world).await;
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0).id;
    let key = || sim.env_value(&project, "ACME_API_KEY", "production");
    let before = key().unwrap();
    let store = world.store().await;
    let pending = || async { store.resources_of(&format!("acc_{id}")).await.unwrap()[0].sealed_pending_key.is_some() };
    let calls = || sim.native_api_calls().iter().filter(|c| c.starts_with("PUT ")).count();

    // Vercel refuses the push's calls, as the REST API's faults do (a 429 resets a second on).
    for status in [429, 503, 429, 503, 503, 503] {
        sim.fail_next("PUT", &format!("/v1/installations/{id}/resources/"), status);
    }
    let admin = signed_in_as(&world, &id, &installer(), "ADMIN").await;
    let rotate = format!("{}/native/{id}/resources/{resource}/rotate", world.tether);
    let pressed = admin.post(&rotate).header(header::ORIGIN, &world.tether).send().await.unwrap();
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    // One run of the job gives up after its attempts; while it waits to run again, the vendor
    // has begun the rotation and the project still has the old secret, which still works.
    until(TEN_SECONDS, || calls() >= 4).await;
    assert!(calls() >= 4, "the push was tried");
    assert_eq!(key().as_deref(), Some(before.as_str()), "Vercel has not taken the new secret yet");
    assert!(pending().await, "the old secret keeps working meanwhile");
    until(TWENTY_SECONDS, || key().as_deref() != Some(before.as_str())).await;
    assert_ne!(key().as_deref(), Some(before.as_str()), "Vercel took the new secret in the end");
    assert_eq!(calls(), 7, "six refusals, then the one Vercel took");
    world.jobs_sent().await;
    assert!(!pending().await, "then, and only then, the vendor revoked the old one");
}

/// A push that has not reached Vercel when Tether is killed resumes after the restart: the job
/// is in the database, not in memory, and Vercel gets the new secrets once.
#[tokio::test]
async fn a_rotation_push_survives_a_crash() {
    let deployment = crate::support::Deployment::new().await;
    let keys = server::seal::Sealer::generate_spec("k1");
    let sim_url = deployment.sim.url();
    let vars = [("TETHER_NATIVE_ISSUER", sim_url.as_str())];
    let child = deployment.start_with(&keys, &vars).await;
    let sim = &deployment.sim.sim;
    let id = sim.native_install(vercel_sim::PERSONAL_USER_ID).await.unwrap();
    let resource = sim.native_provision(&id, "tether", "main-db", json!({}), "free").await.unwrap();
    let project = sim.projects_of(vercel_sim::PERSONAL_USER_ID).remove(0).id;
    sim.native_connect(&id, &resource.id, &project).unwrap();
    let key = || sim.env_value(&project, "ACME_API_KEY", "production");
    let before = key().unwrap();
    let puts = || sim.native_api_calls().iter().filter(|c| c.starts_with("PUT ")).count();
    for _ in 0..4 {
        sim.fail_next("PUT", &format!("/v1/installations/{id}/resources/"), 503);
    }

    let admin = browser();
    let link = sim.sso_link(&id, vercel_sim::PERSONAL_USER_ID, "ADMIN", &SsoContext::default()).unwrap();
    assert_eq!(open(&admin, &link).await.0, StatusCode::SEE_OTHER);
    let rotate = format!("{}/native/{id}/resources/{}/rotate", deployment.tether, resource.id);
    let pressed = admin.post(&rotate).header(header::ORIGIN, &deployment.tether).send().await.unwrap();
    assert_eq!(pressed.status(), StatusCode::SEE_OTHER);
    // The first run of the push meets four refusals and records its failure; then Tether dies.
    until(TWENTY_SECONDS, || puts() >= 4).await;
    assert!(puts() >= 4, "the push was tried");
    // Killed once the failure is recorded (a job killed mid-run waits out its lease instead).
    let store = deployment.store().await;
    let started = std::time::Instant::now();
    while store.job_attempts("push_secrets").await.unwrap() != [1] && started.elapsed() < TWENTY_SECONDS {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(store.job_attempts("push_secrets").await.unwrap(), [1], "one failed run, recorded");
    crate::support::kill(child);
    assert_eq!(key().as_deref(), Some(before.as_str()), "Vercel has not taken the new secret");

    let child = deployment.start_with(&keys, &vars).await;
    until(TWENTY_SECONDS, || key().as_deref() != Some(before.as_str())).await;
    assert_ne!(key().as_deref(), Some(before.as_str()), "the restarted Tether finished the push");
    assert_eq!(puts(), 5, "four refusals, then the one Vercel took: once");
    crate::support::kill(child);
}

pub(crate) const TEN_SECONDS: std::time::Duration = std::time::Duration::from_secs(10);
pub(crate) const TWENTY_SECONDS: std::time::Duration = std::time::Duration::from_secs(20);

/// Waits, without blocking the simulator, until `done` or `within` has passed; the caller then
/// asserts what it waited for.
pub(crate) async fn until(within: std::time::Duration, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() && started.elapsed() < within {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
