//! Webhook ingestion on SQLite: how many verified events per second Tether stores and
//! acknowledges, and the latency of the 200, with the worker applying them at the same time.
//! Run with `cargo xtask bench` (release build, this machine, loopback HTTP).

#![expect(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;
use server::{settings::Settings, startup, webhook::verify::sign};
use tokio::{net::TcpListener, sync::Semaphore};

const EVENTS: usize = 5_000;
const CONCURRENCY: usize = 32;

mod common;

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data_dir = std::env::temp_dir().join(format!("tether-bench-{}", rand::random::<u64>()));
    let env: HashMap<&str, String> = HashMap::from([
        ("TETHER_ADDR", addr.to_string()),
        ("TETHER_DATA_DIR", data_dir.display().to_string()),
        ("TETHER_MODE", "sandbox".to_string()),
    ]);
    let settings = Settings::from_sources(None, |k| env.get(k).cloned()).unwrap();
    let state = startup::build_state(settings).await.unwrap();
    let store = state.store.clone();
    tokio::spawn(startup::serve(listener, state));

    let url = format!("http://{addr}/webhooks/vercel");
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
    let bodies: Vec<(Vec<u8>, String)> = (0..EVENTS)
        .map(|i| {
            let body = serde_json::to_vec(&json!({
                "id": format!("evt_bench_{i}"),
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

    // Warm up connections and SQLite's caches.
    for (body, signature) in bodies.iter().take(100) {
        let _ = client.post(&url).header("x-vercel-signature", signature).body(body.clone()).send().await;
    }

    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(EVENTS);
    for (body, signature) in bodies.into_iter().skip(100) {
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
    let measured = latencies.len();
    println!("webhook ingestion on SQLite: {measured} signed events, {CONCURRENCY} in flight, worker running");
    println!("  events/s: {:.0}", measured as f64 / elapsed.as_secs_f64());
    println!("  200 latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", ms(pct(0.50)), ms(pct(0.99)), ms(pct(1.0)));
    println!("  non-200 answers: {failures}");
    common::record(
        "webhooks",
        &[common::row(
            "Webhook ingestion, SQLite",
            format!(
                "{:.0} events/s (p50 {:.2} ms, p99 {:.2} ms)",
                measured as f64 / elapsed.as_secs_f64(),
                ms(pct(0.50)),
                ms(pct(0.99))
            ),
            format!("{measured} signed events, {CONCURRENCY} in flight, acknowledged with 200, worker applying"),
        )],
    );
    let stored = store.count_events().await.unwrap();
    println!("  stored: {stored} (expected {EVENTS})");
    assert_eq!(failures, 0, "every event must be acknowledged");
    assert_eq!(stored as usize, EVENTS, "every acknowledged event must be stored");
}
