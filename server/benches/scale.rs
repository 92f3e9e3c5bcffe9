//! Scale-out figures on this machine: installs completed per second and webhook events applied
//! per second with one instance on SQLite, one on PostgreSQL and two sharing PostgreSQL (two
//! servers in this process, each with its own pool and worker, as two processes would have);
//! and how the install page's latency grows with the number of projects in an account.
//! PostgreSQL rows need TETHER_TEST_POSTGRES_URL (a role that may create databases).
//! Run with `cargo xtask bench`.

#![expect(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{stream, StreamExt};
use reqwest::{header, redirect::Policy, StatusCode};
use server::{settings::Settings, startup, store::inbox::EventState, webhook::verify::sign};
use tokio::net::TcpListener;
use vercel_sim::{SimConfig, SimHandle};

const INSTALLS: usize = 200;
const EVENTS: usize = 3_000;
const CONCURRENCY: usize = 16;

/// A simulator and `instances` Tether servers sharing one database, behind one public URL.
struct Setup {
    sim: SimHandle,
    instances: Vec<String>,
    store: server::store::Store,
}

async fn setup(database_url: &str, instances: usize) -> Setup {
    let listeners: Vec<TcpListener> =
        futures::future::join_all((0..instances).map(|_| TcpListener::bind("127.0.0.1:0")))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let urls: Vec<String> = listeners.iter().map(|l| format!("http://{}", l.local_addr().unwrap())).collect();
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let mut config = SimConfig::new(&sim_url, format!("{}/callback", urls[0]));
    config.webhook_url = None;
    let sim = vercel_sim::serve(sim_listener, config).await.unwrap();
    let data_dir = std::env::temp_dir().join(format!("tether-scale-{}", rand::random::<u64>()));
    let mut store = None;
    for listener in listeners {
        let env: HashMap<&str, String> = HashMap::from([
            ("TETHER_ADDR", listener.local_addr().unwrap().to_string()),
            ("TETHER_PUBLIC_URL", urls[0].clone()),
            ("TETHER_SIMULATOR_URL", sim_url.clone()),
            ("TETHER_DATA_DIR", data_dir.display().to_string()),
            ("TETHER_DATABASE_URL", database_url.to_owned()),
            ("TETHER_MODE", "sandbox".to_owned()),
            // Every simulated browser has its own address, as real users do.
            ("TETHER_CLIENT_IP_HEADER", "x-forwarded-for".to_owned()),
        ]);
        let settings = Settings::from_sources(None, |k| env.get(k).cloned()).unwrap();
        let state = startup::build_state(settings).await.unwrap();
        store.get_or_insert_with(|| state.store.clone());
        tokio::spawn(startup::serve(listener, state));
    }
    Setup { sim, instances: urls, store: store.unwrap() }
}

/// One whole popup in a new browser: the callback, the install page, Connect with finish.
async fn install(setup: &Setup, n: usize, account: &str, project: &str) -> bool {
    let browser = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let base = &setup.instances[n % setup.instances.len()];
    let client_ip = format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256);
    let callback = setup.sim.sim.begin_install(account, "marketplace").unwrap().replace(&setup.instances[0], base);
    let landed = browser.get(&callback).header("x-forwarded-for", &client_ip).send().await.unwrap();
    let Some(page) = landed.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned) else {
        return false;
    };
    let configuration_id = page.trim_start_matches("/install/").to_owned();
    // The next step goes to another instance, as a balancer without affinity would send it.
    let base = &setup.instances[(n + 1) % setup.instances.len()];
    let shown = browser.get(format!("{base}{page}")).header("x-forwarded-for", &client_ip).send().await.unwrap();
    if shown.status() != StatusCode::OK {
        return false;
    }
    let linked = browser
        .post(format!("{base}/api/link_projects"))
        .header("x-forwarded-for", &client_ip)
        .header(header::ACCEPT, "text/html")
        .header(header::ORIGIN, &setup.instances[0])
        .form(&[
            ("configuration_id", configuration_id.as_str()),
            (&format!("choices[{project}]"), "new"),
            ("finish", "1"),
        ])
        .send()
        .await
        .unwrap();
    linked.status() == StatusCode::FOUND
}

async fn installs_per_second(setup: &Setup) -> f64 {
    // One account per install: the simulator, like Vercel, limits env writes per account.
    let accounts: Vec<(String, String)> = (0..INSTALLS)
        .map(|n| {
            let id = format!("team_scale{n:04}");
            let projects = setup.sim.sim.add_team(&id, &format!("Scale {n}"), 1);
            (id, projects[0].clone())
        })
        .collect();
    let started = Instant::now();
    let done = stream::iter(accounts.iter().enumerate())
        .map(|(n, (account, project))| install(setup, n, account, project))
        .buffer_unordered(CONCURRENCY)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    let elapsed = started.elapsed();
    assert_eq!(done, INSTALLS, "every install completed");
    INSTALLS as f64 / elapsed.as_secs_f64()
}

/// From the first delivery until the last event is applied: acknowledging and applying overlap.
async fn events_applied_per_second(setup: &Setup) -> f64 {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
    let bodies: Vec<(String, Vec<u8>, String)> = (0..EVENTS)
        .map(|n| {
            let body = serde_json::to_vec(&serde_json::json!({
                "id": format!("evt_scale_{n}"), "type": "deployment.succeeded", "createdAt": 1_700_000_000_000i64 + n as i64,
                "payload": {"deployment": {"id": format!("dpl_{n}"), "url": "x.vercel.app"},
                            "project": {"id": format!("prj_{}", n % 100)}, "team": {"id": "team_scale0000"}}
            }))
            .unwrap();
            let signature = sign(&body, vercel_sim::DEFAULT_CLIENT_SECRET);
            (setup.instances[n % setup.instances.len()].clone(), body, signature)
        })
        .collect();
    let before = setup.store.count_events_in(EventState::Done).await.unwrap();
    let started = Instant::now();
    let acknowledged = stream::iter(bodies)
        .map(|(base, body, signature)| {
            let request =
                client.post(format!("{base}/webhooks/vercel")).header("x-vercel-signature", signature).body(body);
            async move { request.send().await.is_ok_and(|r| r.status() == StatusCode::OK) }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    assert_eq!(acknowledged, EVENTS);
    while setup.store.count_events_in(EventState::Done).await.unwrap() - before < EVENTS as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    EVENTS as f64 / started.elapsed().as_secs_f64()
}

/// Median of five loads of the install page for an account with `projects` projects.
async fn install_page_latency(setup: &Setup, projects: usize) -> Duration {
    let id = format!("team_size{projects}");
    setup.sim.sim.add_team(&id, &format!("Size {projects}"), projects);
    let browser = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
    let callback = setup.sim.sim.begin_install(&id, "marketplace").unwrap();
    let landed = browser.get(&callback).header("x-forwarded-for", "10.255.0.1").send().await.unwrap();
    let page = landed.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let response = browser.get(format!("{}{page}", setup.instances[0])).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    times[2]
}

mod common;
mod postgres;

#[tokio::main]
async fn main() {
    let sqlite = format!(
        "sqlite://{}/scale.db",
        std::env::temp_dir().join(format!("tether-scale-{}", rand::random::<u64>())).display()
    );
    let postgres = std::env::var("TETHER_TEST_POSTGRES_URL").ok();
    println!("Scale-out: {INSTALLS} installs (callback, install page, Connect + finish) and {EVENTS} webhook events, {CONCURRENCY} at a time");
    println!("{:<28} {:>12} {:>22}", "setup", "installs/s", "webhook events/s");
    let mut setups: Vec<(&str, String, usize)> = vec![("1 instance, SQLite", sqlite, 1)];
    let mut databases = Vec::new();
    match &postgres {
        Some(admin) => {
            for (name, instances) in [("1 instance, PostgreSQL", 1), ("2 instances, PostgreSQL", 2)] {
                let (url, database) = postgres::fresh(admin, "bench_scale").await;
                setups.push((name, url, instances));
                databases.push(database);
            }
        }
        None => println!("(PostgreSQL rows skipped: TETHER_TEST_POSTGRES_URL is unset)"),
    }
    let mut rows = Vec::new();
    for (name, url, instances) in setups {
        let setup = setup(&url, instances).await;
        let installs = installs_per_second(&setup).await;
        let events = events_applied_per_second(&setup).await;
        println!("{name:<28} {installs:>12.1} {events:>22.0}");
        rows.push(common::row(
            format!("Scale-out, {name}"),
            format!("{installs:.1} installs/s, {events:.0} events applied/s"),
            format!("{INSTALLS} whole installs and {EVENTS} webhook events, {CONCURRENCY} at a time"),
        ));
    }

    println!("\nInstall page latency (median of 5, one instance on SQLite) by projects in the account:");
    let sqlite = format!(
        "sqlite://{}/pages.db",
        std::env::temp_dir().join(format!("tether-pages-{}", rand::random::<u64>())).display()
    );
    let setup = setup(&sqlite, 1).await;
    let mut latencies = Vec::new();
    for projects in [10, 100, 1_000] {
        let latency = install_page_latency(&setup, projects).await.as_secs_f64() * 1000.0;
        println!("{projects:>6} projects: {latency:>8.1} ms");
        latencies.push(format!("{projects}: {latency:.1} ms"));
    }
    rows.push(common::row(
        "Install page latency by projects in the account",
        latencies.join(", "),
        "median of 5 loads, one request at a time, SQLite",
    ));
    common::record("scale", &rows);
    if let Some(admin) = &postgres {
        for database in &databases {
            postgres::remove(admin, database).await;
        }
    }
}
