//! Durable webhook ingestion: how many signed events per second Tether stores and acknowledges,
//! and the latency of the 200, with the worker applying them at the same time. A 200 means the
//! event is on disk (SQLite `synchronous = FULL`; PostgreSQL's default `synchronous_commit`), so
//! a power loss after it loses nothing. On SQLite, and on a fresh PostgreSQL database when
//! TETHER_TEST_POSTGRES_URL names a server; three rounds each, to show the spread.
//! Run with `cargo xtask bench` (release build, this machine, loopback HTTP).

#![expect(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;
use server::{
    settings::Settings,
    startup,
    store::{inbox::EventState, Store},
    webhook::verify::sign,
};
use tokio::{net::TcpListener, sync::Semaphore};

const EVENTS: usize = 20_000;
const WARM_UP: usize = 500;
const CONCURRENCY: usize = 32;
const ROUNDS: usize = 3;

mod common;
mod postgres;

/// One round's figures.
struct Round {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[tokio::main]
async fn main() {
    let mut engines = vec![("SQLite", None)];
    match std::env::var("TETHER_TEST_POSTGRES_URL") {
        Ok(admin) => engines.push(("PostgreSQL", Some(admin))),
        Err(_) => println!("(PostgreSQL skipped: TETHER_TEST_POSTGRES_URL is unset)"),
    }
    let mut rows = Vec::new();
    for (engine, admin) in engines {
        let mut rounds = Vec::new();
        for round in 0..ROUNDS {
            let database = match &admin {
                Some(admin) => Some(postgres::fresh(admin, "bench_webhooks").await),
                None => None,
            };
            let figures = ingest(database.as_ref().map(|(url, _)| url.clone()), round).await;
            if let (Some(admin), Some((_, name))) = (&admin, &database) {
                postgres::remove(admin, name).await;
            }
            println!(
                "webhook ingestion on {engine}, round {}: {:.0} events/s, 200 latency p50 {:.2} ms, p99 {:.2} ms",
                round + 1,
                figures.per_second,
                figures.p50_ms,
                figures.p99_ms
            );
            rounds.push(figures);
        }
        rounds.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        let middle = &rounds[ROUNDS / 2];
        let spread = |f: fn(&Round) -> f64| {
            let values: Vec<f64> = rounds.iter().map(f).collect();
            (values.iter().copied().fold(f64::INFINITY, f64::min), values.iter().copied().fold(0.0, f64::max))
        };
        let (slowest, fastest) = spread(|r| r.per_second);
        let (p99_low, p99_high) = spread(|r| r.p99_ms);
        rows.push(common::row(
            format!("Webhook ingestion, durable, {engine}"),
            format!(
                "{:.0} events/s (rounds {slowest:.0}–{fastest:.0}); p50 {:.2} ms, p99 {:.2} ms (rounds {p99_low:.1}–{p99_high:.1})",
                middle.per_second, middle.p50_ms, middle.p99_ms
            ),
            format!(
                "{EVENTS} signed events, {CONCURRENCY} in flight, each 200 after its commit, worker applying; \
                 middle of {ROUNDS} rounds by events/s. Goal: ≥ 5,000/s, p99 < 20 ms"
            ),
        ));
    }
    common::record("webhooks", &rows);
}

/// One round against a new Tether: SQLite in a new directory, or the PostgreSQL `database`.
async fn ingest(database: Option<String>, round: usize) -> Round {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data_dir = std::env::temp_dir().join(format!("tether-bench-{}", rand::random::<u64>()));
    let mut env: HashMap<&str, String> = HashMap::from([
        ("TETHER_ADDR", addr.to_string()),
        ("TETHER_DATA_DIR", data_dir.display().to_string()),
        ("TETHER_MODE", "sandbox".to_string()),
    ]);
    if let Some(url) = database {
        env.insert("TETHER_DATABASE_URL", url);
    }
    let settings = Settings::from_sources(None, |k| env.get(k).cloned()).unwrap();
    let state = startup::build_state(settings).await.unwrap();
    let store: Store = state.store.clone();
    let server = tokio::spawn(startup::serve(listener, state));

    let url = format!("http://{addr}/webhooks/vercel");
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
    let bodies: Vec<(Vec<u8>, String)> = (0..EVENTS)
        .map(|i| {
            let body = serde_json::to_vec(&json!({
                "id": format!("evt_bench_{round}_{i}"),
                "type": "deployment.succeeded",
                "createdAt": 1_700_000_000_000i64 + i as i64,
                "payload": {"deployment": {"id": format!("dpl_{i}"), "url": "x.vercel.app"},
                            "project": {"id": "prj_bench"}, "team": {"id": "team_bench"}}
            }))
            .unwrap();
            let signature = sign(&body, vercel_sim::DEFAULT_CLIENT_SECRET);
            (body, signature)
        })
        .collect();

    // Warm up connections and the database's caches.
    for (body, signature) in bodies.iter().take(WARM_UP) {
        let _ = client.post(&url).header("x-vercel-signature", signature).body(body.clone()).send().await;
    }

    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(EVENTS);
    for (body, signature) in bodies.into_iter().skip(WARM_UP) {
        let permit = limit.clone().acquire_owned().await.unwrap();
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let status =
                client.post(&url).header("x-vercel-signature", signature).body(body).send().await.map(|r| r.status());
            drop(permit);
            (sent.elapsed(), status.map(|s| s.as_u16()).unwrap_or(0))
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (latency, status) = task.await.unwrap();
        if status != 200 {
            failures += 1;
        }
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    assert_eq!(failures, 0, "every event must be acknowledged");
    let stored = store.count_events().await.unwrap();
    assert_eq!(stored as usize, EVENTS, "every acknowledged event must be stored");
    // The worker finishes before the next round begins, so no round shares the cores with the
    // last one's backlog.
    let deadline = Instant::now() + Duration::from_secs(300);
    while store.count_events_in(EventState::Pending).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the worker did not apply the events within 5 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.abort();
    Round { per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50_ms: ms(pct(0.50)), p99_ms: ms(pct(0.99)) }
}
