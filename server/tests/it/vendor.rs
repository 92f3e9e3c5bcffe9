//! Tether with the vendor's own system as its provider, over the HTTP contract: the reference
//! vendor (its own SQLite, its own signature check) in this process, on its own port.

use std::time::{Duration, Instant};

use reqwest::{header, StatusCode};
use server::signing::SigningKey;
use tokio::net::TcpListener;

use crate::support::{icfg, world_with_env, World};

pub(crate) struct VendorWorld {
    pub(crate) world: World,
    pub(crate) vendor: reference_vendor::VendorHandle,
    /// The keys Tether and the vendor share (`id:whsec_…`).
    pub(crate) secrets: String,
}

pub(crate) async fn vendor_world(plan_limit: i64) -> VendorWorld {
    vendor_world_with(plan_limit, None).await
}

/// The same with a Leptos.toml text for Tether.
async fn vendor_world_with(plan_limit: i64, config_file: Option<&str>) -> VendorWorld {
    vendor_world_linking(plan_limit, config_file, false).await
}

/// With account linking on: the vendor's sign-in page comes before the projects.
pub(crate) async fn vendor_world_linking(plan_limit: i64, config_file: Option<&str>, linking: bool) -> VendorWorld {
    let secrets = SigningKey::generate_spec("k1");
    let config =
        reference_vendor::Config { database_url: "sqlite::memory:".into(), secrets: secrets.clone(), plan_limit };
    let vendor = reference_vendor::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).await.unwrap();
    let mut env = vec![
        ("TETHER_PROVIDER_KIND", "http".to_owned()),
        ("TETHER_PROVIDER_URL", vendor.base_url()),
        ("TETHER_PROVIDER_SECRETS", secrets.clone()),
    ];
    if linking {
        env.push(("TETHER_PROVIDER_ACCOUNT_LINK_URL", vendor.link_url()));
    }
    let world = world_with_env(config_file, &env).await;
    // The vendor tells this Tether of the changes it makes itself.
    vendor.vendor.set_tether_url(&world.tether);
    VendorWorld { world, vendor, secrets }
}

fn env_of(world: &World, project: &str) -> Vec<(String, Vec<String>, String)> {
    let mut vars: Vec<_> = world
        .sim
        .sim
        .snapshot()
        .env
        .get(project)
        .into_iter()
        .flatten()
        .map(|v| (v.key.clone(), v.target.clone(), v.kind.clone()))
        .collect();
    vars.sort();
    vars
}

/// Follows a no-JavaScript Connect back to the install page and returns its text.
async fn page_after(world: &World, response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    world.get(&location).await.text().await.unwrap()
}

#[tokio::test]
async fn an_install_through_the_vendors_system_writes_the_variables_it_names() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let response = world.connect(&popup.configuration_id, &[("prj_acme001", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let created = vendor.vendor.resources_of(vercel_sim::TEAM_ID).await;
    assert_eq!(created.len(), 1, "one database in the vendor's own records: {created:?}");
    let vars = env_of(&world, "prj_acme001");
    let keys: Vec<&str> = vars.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["REFDB_API_KEY", "REFDB_API_KEY", "REFDB_REGION", "REFDB_URL"], "{vars:?}");
    let region = vars.iter().find(|(k, _, _)| k == "REFDB_REGION").unwrap();
    assert_eq!(region.1, ["production", "preview"], "the vendor's targets are kept");
    assert!(vars.iter().any(|(k, _, kind)| k == "REFDB_API_KEY" && kind == "sensitive"), "secret means sensitive");
    // The vendor's comments are written; a variable it left without one gets Tether's.
    let comment = |key: &str| {
        let snapshot = world.sim.sim.snapshot();
        snapshot.env["prj_acme001"].iter().find(|v| v.key == key).and_then(|v| v.comment.clone()).unwrap_or_default()
    };
    assert_eq!(comment("REFDB_URL"), "Reference DB: the connection URL of the database linked to this project.");
    assert!(comment("REFDB_REGION").starts_with("Set by the "), "{}", comment("REFDB_REGION"));

    // The next project connects to the same database, offered from the vendor's list.
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    let choice = format!("existing:{}", created[0].0);
    assert!(page.contains(&choice), "the vendor's database is offered");
    let response = world.connect(&popup.configuration_id, &[("prj_acme002", &choice)]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.len(), 1, "nothing new was created");
    let url = |project: &str| world.sim.sim.env_value(project, "REFDB_URL", "production");
    assert_eq!(url("prj_acme001"), url("prj_acme002"), "both projects use the one database");
}

#[tokio::test]
async fn an_answer_lost_after_the_vendor_created_makes_no_second_resource() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    vendor.vendor.lose_next_answer("resources.create");
    let before = vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.len();
    let response = world.connect(&popup.configuration_id, &[("prj_acme003", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let after = vendor.vendor.resources_of(vercel_sim::TEAM_ID).await;
    assert_eq!(after.len(), before + 1, "the retry, with the same Idempotency-Key, got the same database");
    assert!(!env_of(&world, "prj_acme003").is_empty(), "and the project was connected to it");
}

#[tokio::test]
async fn the_vendors_refusal_is_shown_beside_its_project_and_nothing_is_written() {
    let VendorWorld { world, vendor, .. } = vendor_world(1).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme001", "new")]).await.status(), StatusCode::FOUND);
    let response = world.connect(&popup.configuration_id, &[("prj_acme002", "new")]).await;
    let page = page_after(&world, response).await;
    assert!(page.contains("Your plan allows 1 databases; upgrade to add more."), "the vendor's own words");
    assert!(env_of(&world, "prj_acme002").is_empty(), "nothing was written at Vercel for it");
    assert_eq!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.len(), 1);
    let installed = world.sim.sim.snapshot().installations.last().unwrap().completed_at;
    assert!(installed.is_none(), "the popup stays open for the user to choose again");
}

#[tokio::test]
async fn a_vendor_that_is_down_is_named_and_the_choice_is_kept() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    vendor.vendor.set_down(true);
    let response = world.connect(&popup.configuration_id, &[("prj_acme004", "new")]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/install/{}", popup.configuration_id), "back to the page, not to Vercel");
    assert!(env_of(&world, "prj_acme004").is_empty(), "nothing was written at Vercel");
    // While it is down the page itself says so, with a way to try again.
    let page = world.get(&location).await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = page.text().await.unwrap();
    assert!(text.contains("did not answer in time") && text.contains("Try again"), "{text}");
    assert!(text.contains(r#"data-failure="vendor-down""#), "its own page: {text}");
    // Back up: the page remembers the project the user chose, and Connect finishes it.
    vendor.vendor.set_down(false);
    let page = world.get(&location).await.text().await.unwrap();
    assert!(page.contains("did not answer in time"), "the failed attempt is shown beside its project");
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme004", "new")]).await.status(), StatusCode::FOUND);
    assert!(!env_of(&world, "prj_acme004").is_empty());
}

#[tokio::test]
async fn a_slow_vendor_is_cut_off_and_the_user_is_told() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    vendor.vendor.set_delay(Duration::from_secs(30));
    let started = Instant::now();
    let response = world.get(&format!("/install/{}", popup.configuration_id)).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.text().await.unwrap().contains("did not answer in time"));
    assert!(waited < Duration::from_secs(10), "the user waited {waited:?}");
}

/// One call is one message: every attempt of a retried call carries the same `webhook-id`, and
/// another call another. An attempt gets 5 s, so a 4.5 s answer is taken; a call gets 10 s, so a
/// timed-out attempt is not retried (a second whole attempt would not fit).
#[tokio::test]
async fn retries_share_their_webhook_id_and_the_budgets_are_the_documented_ones() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let page = format!("/install/{}", popup.configuration_id);
    let earlier = vendor.vendor.seen("resources.list");
    vendor.vendor.set_down(true);
    assert_eq!(world.get(&page).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let attempts = vendor.vendor.seen("resources.list")[earlier.len()..].to_vec();
    assert_eq!(attempts.len(), server::provider::http::ATTEMPTS as usize, "a 503 is retried: {attempts:?}");
    assert!(attempts.iter().all(|id| *id == attempts[0]), "one call, one webhook-id: {attempts:?}");
    assert!(!earlier.contains(&attempts[0]), "another call, another webhook-id");
    assert!(attempts[0].starts_with("msg_") && attempts[0].len() == 36, "msg_ and 32 hex digits: {}", attempts[0]);

    vendor.vendor.set_down(false);
    vendor.vendor.set_delay(Duration::from_millis(4500));
    assert_eq!(world.get(&page).await.status(), StatusCode::OK, "an answer in 4.5 s is taken");
    vendor.vendor.set_delay(Duration::from_secs(6));
    let before = vendor.vendor.seen("resources.list").len();
    assert_eq!(world.get(&page).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(vendor.vendor.seen("resources.list").len(), before + 1, "a timed-out attempt is not retried");
}

/// A vendor that refuses Tether's signature (the two sides' secrets disagree) is the operator's
/// problem: the user reads that the service is misconfigured and nothing was written, with a
/// reference; the log has a warning with the vendor's own words and that reference; a metric
/// counts it.
#[tokio::test]
async fn a_vendor_refusing_tethers_signature_is_an_operator_problem() {
    let vendor_secret = SigningKey::generate_spec("k1");
    let config =
        reference_vendor::Config { database_url: "sqlite::memory:".into(), secrets: vendor_secret, plan_limit: 3 };
    let vendor = reference_vendor::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).await.unwrap();
    let deployment = crate::support::Deployment::new().await;
    let operator_token = "o".repeat(40);
    let tethers_secret = SigningKey::generate_spec("k1");
    let vars = [
        ("TETHER_PROVIDER_KIND", "http"),
        ("TETHER_PROVIDER_URL", vendor.base_url().leak() as &str),
        ("TETHER_PROVIDER_SECRETS", tethers_secret.as_str()),
        ("TETHER_OPERATOR_TOKEN", operator_token.as_str()),
    ];
    let child = deployment.start_with(&server::seal::Sealer::generate_spec("k1"), &vars).await;
    let browser = crate::support::Deployment::browser();
    let cfg = deployment.install(&browser).await;
    let response = browser.get(format!("{}/install/{cfg}", deployment.tether)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"data-failure="vendor-misconfigured""#), "its own page: {page}");
    assert!(page.contains("nothing was created or written"), "{page}");
    assert!(!page.to_lowercase().contains("signature") && !page.contains("bad_signature"), "no signing jargon");
    let reference = page.split("reference ").nth(1).and_then(|rest| rest.get(..12)).unwrap().to_owned();
    assert!(reference.starts_with("ref-"), "{reference}");
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", deployment.tether))
        .bearer_auth(&operator_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tether_provider_signature_refusals_total 1"), "{metrics}");
    crate::support::kill(child);
    let log = std::fs::read_to_string(deployment.dir.join("output.log")).unwrap();
    let line = log.lines().find(|l| l.contains(&reference)).unwrap_or_else(|| panic!("no log line: {log}"));
    assert!(line.contains("WARN") && line.contains("The request is not signed by Tether."), "{line}");
    assert!(!log.contains(tethers_secret.split(':').nth(1).unwrap()), "the secret is never logged");
}

/// What a vendor runs against its own implementation: `server provider-check <url>
/// --sign-in-url <page>`.
async fn provider_check(vendor: &reference_vendor::VendorHandle, secrets: &str) -> (Option<i32>, String) {
    let (base_url, sign_in, secrets) = (vendor.base_url(), vendor.link_url(), secrets.to_owned());
    // Off the runtime: the vendor answers from this test's own runtime meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["provider-check", &base_url, "--sign-in-url", &sign_in])
            .env_clear()
            .env("TETHER_PROVIDER_SECRETS", secrets)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn the_conformance_check_passes_against_the_reference_vendor_and_says_what_fails_elsewhere() {
    let secrets = SigningKey::generate_spec("k1");
    let config =
        reference_vendor::Config { database_url: "sqlite::memory:".into(), secrets: secrets.clone(), plan_limit: 3 };
    let vendor = reference_vendor::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).await.unwrap();
    let (code, said) = provider_check(&vendor, &secrets).await;
    println!("{said}");
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("FAIL") && said.contains(&format!("{CHECKS} of {CHECKS} checks passed")), "{said}");

    // A vendor holding another secret: every signed call is refused, and the check says so,
    // counting the same checks.
    let (code, said) = provider_check(&vendor, &SigningKey::generate_spec("k1")).await;
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("FAIL  creates a resource (201), with a key whose first attempt failed: answered 401"),
        "{said}"
    );
    assert!(said.contains("PASS  refuses an unsigned request (401 bad_signature)"), "{said}");
    assert!(said.contains(&format!(" of {CHECKS} checks passed")), "the same checks every run: {said}");
}

/// How many checks `provider-check` runs, whatever the vendor does.
const CHECKS: usize = 39;

/// Each mistake a vendor could make from the contract's text, made on purpose by the reference
/// vendor: the check fails it, naming what broke, so it can never pass such a vendor again.
#[tokio::test]
async fn the_conformance_check_fails_each_broken_vendor() {
    use reference_vendor::Flaw;
    let expected = |flaw: Flaw| match flaw {
        Flaw::AcceptsFutureTimestamps => "FAIL  refuses a request signed 10 minutes ahead (401 bad_signature)",
        Flaw::TightWindow => "FAIL  takes a request signed 4 minutes ago",
        Flaw::FirstSignatureOnly => "FAIL  takes a valid signature after one by a key it does not know",
        Flaw::BareErrors => {
            "FAIL  refuses an unsigned request (401 bad_signature): answered 401 {\"message\":\"refused\"}, not"
        }
        Flaw::IgnoresAccounts => "FAIL  keeps an account's resources from another account's list",
        Flaw::CreatedOnRepeat => "FAIL  answers 200 and the same resource for a repeated Idempotency-Key",
        Flaw::TextContentType => "without Content-Type: application/json",
        Flaw::ReplaysFailures => "FAIL  creates a resource (201), with a key whose first attempt failed",
        Flaw::LongComment => {
            "FAIL  answers the env vars a project needs: `REFDB_URL`: `comment` must be a string of at most"
        }
        Flaw::ReusesSsoTickets => "FAIL  sso: refuses the same ticket a second time (4xx): answered 200",
    };
    for flaw in Flaw::ALL {
        let secrets = SigningKey::generate_spec("k1");
        let config = reference_vendor::Config {
            database_url: "sqlite::memory:".into(),
            secrets: secrets.clone(),
            plan_limit: 3,
        };
        let vendor = reference_vendor::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), config).await.unwrap();
        vendor.vendor.set_flaw(flaw);
        let (code, said) = provider_check(&vendor, &secrets).await;
        assert_eq!(code, Some(1), "{flaw:?} passed:\n{said}");
        assert!(said.contains(expected(flaw)), "{flaw:?}:\n{said}");
        assert!(said.contains(&format!(" of {CHECKS} checks passed")), "{flaw:?}: the same checks:\n{said}");
    }
}

/// The vendor hears what happened at Vercel, through the outbox: at least once, even when it
/// was down at the time, and releases go to it instead of to Tether's own tables.
#[tokio::test]
async fn the_vendor_hears_of_removals_and_releases_even_after_being_down() {
    let VendorWorld { world, vendor, .. } =
        vendor_world_with(3, Some("[provider]\non_uninstall = \"release\"\n")).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.connect(&popup.configuration_id, &[("prj_acme010", "new"), ("prj_acme011", "new")]).await;
    assert_eq!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.len(), 2);

    // Vercel takes one project away while the vendor is down, then the whole installation.
    vendor.vendor.set_down(true);
    assert!(world.sim.sim.remove_project("prj_acme010"));
    // Applied before the uninstall: once removed, an installation has no projects to speak of.
    let store = world.store().await;
    for _ in 0..100 {
        let link = store.link(&icfg(&popup.configuration_id), "prj_acme010").await.unwrap().unwrap();
        if link.status == server::store::links::LinkStatus::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(world.sim.sim.uninstall(&popup.configuration_id));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(vendor.vendor.notices().await.is_empty(), "nothing reached a vendor that is down");
    vendor.vendor.set_down(false);

    world.jobs_sent().await;
    let notices = vendor.vendor.notices().await;
    // At least once, in no promised order: the one that waited longer may come second.
    let mut kinds: Vec<&str> = notices.iter().map(|(kind, _)| kind.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["installation.removed", "project.removed"], "{notices:?}");
    let removed = notices.iter().find(|(kind, _)| kind == "installation.removed").unwrap();
    let removed: serde_json::Value = serde_json::from_str(&removed.1).unwrap();
    assert_eq!(removed["installation_id"], popup.configuration_id.as_str());
    assert_eq!(removed["account"], vercel_sim::TEAM_ID);
    let taken = notices.iter().find(|(kind, _)| kind == "project.removed").unwrap();
    let taken: serde_json::Value = serde_json::from_str(&taken.1).unwrap();
    assert_eq!((taken["origin"].as_str(), taken["resource_id"].is_string()), (Some("created"), true), "{taken}");
    assert!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.is_empty(), "both databases released at the vendor");
}

/// A Disconnect reaches the vendor as a notice naming the resource and where it came from. A
/// database the customer had is never released; one Tether created is, when its last project
/// goes and the policy releases, and under `keep` the notice is all the vendor hears.
#[tokio::test]
async fn a_disconnect_tells_the_vendor_and_releases_only_what_tether_created() {
    for policy in ["release", "keep"] {
        let config = format!("[provider]\non_uninstall = \"{policy}\"\n");
        let VendorWorld { world, vendor, .. } = vendor_world_with(5, Some(&config)).await;
        let own = vendor.vendor.add_resource(vercel_sim::TEAM_ID, "customers-own-db").await;
        let popup = world.open_popup(vercel_sim::TEAM_ID).await;
        let cfg = popup.configuration_id.as_str();
        let existing = format!("existing:{own}");
        world.connect(cfg, &[("prj_acme040", "new"), ("prj_acme041", &existing)]).await;
        let created = vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.into_iter().find(|(id, _)| *id != own);
        let (created, _) = created.expect("Tether created one");

        for project in ["prj_acme041", "prj_acme040"] {
            let form = [("configuration_id", cfg), ("project_id", project)];
            assert_eq!(world.post_form("unlink_project", &form).await.status(), StatusCode::FOUND);
        }
        world.jobs_sent().await;
        let notices: Vec<serde_json::Value> =
            vendor.vendor.notices().await.iter().map(|(_, body)| serde_json::from_str(body).unwrap()).collect();
        let about = |project: &str| {
            notices.iter().find(|n| n["project_id"] == project).unwrap_or_else(|| panic!("{project}: {notices:?}"))
        };
        assert_eq!(about("prj_acme041")["type"], "project.disconnected");
        assert_eq!(
            (about("prj_acme041")["resource_id"].as_str(), about("prj_acme041")["origin"].as_str()),
            (Some(own.as_str()), Some("connected"))
        );
        assert_eq!(
            (about("prj_acme040")["resource_id"].as_str(), about("prj_acme040")["origin"].as_str()),
            (Some(created.as_str()), Some("created"))
        );
        let left: Vec<String> =
            vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.into_iter().map(|(id, _)| id).collect();
        assert!(left.contains(&own), "{policy}: the customer's own database stays: {left:?}");
        assert_eq!(left.contains(&created), policy == "keep", "{policy}: {left:?}");
    }
}

/// Account linking through the vendor's sign-in page: a signed, single-use ticket bound to this
/// installation and browser goes out; a signed account id comes back and is used from then on.
#[tokio::test]
async fn the_vendor_account_comes_from_signing_in_at_the_vendor() {
    let VendorWorld { world, vendor, .. } = vendor_world_linking(3, None, true).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let sign_in = format!("/install/{}/account", popup.configuration_id);
    assert!(popup.page.contains("data-testid=\"account-link\"") && popup.page.contains(&sign_in), "sign in first");
    assert!(!popup.page.contains("choices["), "no project can be chosen before the account is known");
    let early = world.connect(&popup.configuration_id, &[("prj_acme001", "new")]).await;
    let location = early.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("/install/{}", popup.configuration_id)), "Connect waits: {location}");
    assert!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.is_empty());

    // Off to the vendor with a ticket; the vendor's form; back with its signed account id.
    let out = world.get(&sign_in).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let to_vendor = url::Url::parse(out.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert!(to_vendor.as_str().starts_with(&vendor.link_url()));
    let query: std::collections::HashMap<_, _> = to_vendor.query_pairs().into_owned().collect();
    let form =
        [("ticket", query["ticket"].as_str()), ("return_to", query["return_to"].as_str()), ("account", "robotics")];
    let signed_in = world.browser.post(vendor.link_url()).form(&form).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let back = signed_in.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let tampered = back.replace("account=acct_robotics", "account=acct_somebody");
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(stranger.get(&back).send().await.unwrap().status(), StatusCode::BAD_REQUEST, "another browser");
    assert_eq!(world.browser.get(&tampered).send().await.unwrap().status(), StatusCode::BAD_REQUEST, "another account");
    let landed = world.browser.get(&back).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::SEE_OTHER);
    assert_eq!(landed.headers()[header::LOCATION], format!("/install/{}", popup.configuration_id).as_str());
    let replayed = world.browser.get(&back).send().await.unwrap();
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST, "a ticket works once");
    assert!(replayed.text().await.unwrap().contains("used already"));

    // The projects, and the vendor's own account on every call from now on.
    let page = world.get(&format!("/install/{}", popup.configuration_id)).await.text().await.unwrap();
    assert!(page.contains("choices[prj_acme001]"));
    assert_eq!(world.connect(&popup.configuration_id, &[("prj_acme001", "new")]).await.status(), StatusCode::FOUND);
    assert_eq!(vendor.vendor.resources_of("acct_robotics").await.len(), 1, "created in the linked account");
    assert!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.is_empty());
}

/// Rotation through the vendor's system: both phases over the contract, every linked project
/// rewritten in between, and the vendor's database keeps the new key alone afterwards.
#[tokio::test]
async fn rotation_goes_through_the_vendors_two_phases() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    world.connect(&popup.configuration_id, &[("prj_acme020", "new")]).await;
    let database = vendor.vendor.resources_of(vercel_sim::TEAM_ID).await[0].0.clone();
    let shared = format!("existing:{database}");
    world.connect(&popup.configuration_id, &[("prj_acme021", &shared)]).await;
    let key = |project| world.sim.sim.env_value(project, "REFDB_API_KEY", "production").unwrap();
    let old = key("prj_acme020");

    let form = [("configuration_id", popup.configuration_id.as_str()), ("resource_id", database.as_str())];
    let response = world.post_form("rotate_credentials", &form).await;
    assert!(response.headers()[header::LOCATION].to_str().unwrap().ends_with("notice=rotated"));
    let new = key("prj_acme020");
    assert_ne!(new, old);
    assert_eq!(key("prj_acme021"), new, "every linked project has the new key");
    assert_eq!(world.sim.sim.env_value("prj_acme021", "REFDB_API_KEY", "development").unwrap(), new);
    // The vendor finished: its list says no rotation is under way.
    let page = world.get(&format!("/configure?configurationId={}", popup.configuration_id)).await.text().await.unwrap();
    assert!(!page.contains("A rotation did not finish"), "finished at the vendor");
}

/// A transfer and a project taken away by a permission change reach the vendor as notices.
#[tokio::test]
async fn transfers_and_projects_taken_away_reach_the_vendor() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let popup = world.open_popup(vercel_sim::TEAM_ID).await;
    let cfg = popup.configuration_id.clone();
    world.connect(&cfg, &[("prj_acme030", "new")]).await;
    let configuration = serde_json::json!({"id": cfg});
    let taken = serde_json::json!({"configuration": configuration, "projects": {"removed": ["prj_acme030"]}});
    crate::webhooks::deliver(&world, "evt_taken", "integration-configuration.permission-upgraded", taken).await;
    let moved = serde_json::json!({"configuration": {"id": cfg}, "newTeamId": "team_elsewhere"});
    crate::webhooks::deliver(&world, "evt_moved", "integration-configuration.transferred", moved).await;
    world.jobs_sent().await;

    let notices: Vec<serde_json::Value> =
        vendor.vendor.notices().await.iter().map(|(_, body)| serde_json::from_str(body).unwrap()).collect();
    let of =
        |kind: &str| notices.iter().find(|n| n["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {notices:?}"));
    assert_eq!(of("project.removed")["project_id"], "prj_acme030");
    assert_eq!(of("installation.transferred")["account"], vercel_sim::TEAM_ID, "named by the account it left");
    assert_eq!(of("installation.transferred")["to_account"], "team_elsewhere");
    // Vercel delivers the same event again: nothing new is sent.
    let moved = serde_json::json!({"configuration": {"id": cfg}, "newTeamId": "team_elsewhere"});
    crate::webhooks::deliver(&world, "evt_moved", "integration-configuration.transferred", moved).await;
    world.jobs_sent().await;
    assert_eq!(vendor.vendor.notices().await.len(), 2);
}

/// A release a Tether recorded before it recorded origins might name a database the customer
/// only connected: it is never sent to the vendor, and stays in the outbox for the operator.
#[tokio::test]
async fn a_release_recorded_before_origins_is_never_sent() {
    let VendorWorld { world, vendor, .. } = vendor_world(3).await;
    let own = vendor.vendor.add_resource(vercel_sim::TEAM_ID, "customers-own-db").await;
    let store = world.store().await;
    let mut tx = store.begin().await.unwrap();
    let old = serde_json::json!({ "resource_id": own }).to_string();
    server::store::provider_jobs::enqueue(
        &mut tx,
        "release_recorded_by_an_older_tether",
        server::store::provider_jobs::JobKind::Release,
        vercel_sim::TEAM_ID,
        &old,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The outbox looks every 500 ms: a few rounds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(vendor.vendor.seen("resources.release").is_empty(), "nothing reached the vendor");
    assert!(vendor.vendor.resources_of(vercel_sim::TEAM_ID).await.iter().any(|(id, _)| *id == own));
    let jobs = store.jobs().await.unwrap();
    let job = jobs.iter().find(|(id, _, _)| id == "release_recorded_by_an_older_tether").unwrap();
    assert_ne!(job.2, "done", "kept for the operator: {jobs:?}");
}
