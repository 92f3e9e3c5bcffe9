//! The Partner API of native integrations with the built-in provider: how long Vercel waits for
//! a provision (the vendor's part is Tether's own tables here, so this is Tether's overhead) and
//! for a read, and what verifying Vercel's token costs. Run with `cargo xtask bench` (release
//! build, this machine, loopback HTTP, SQLite).

#![expect(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::json;
use server::{
    settings::Settings,
    startup,
    vercel::oidc::{TokenType, Verifier, REFETCH_AFTER},
};
use tokio::net::TcpListener;
use vercel_sim::{SimConfig, DEFAULT_CLIENT_ID};

mod common;

const INSTALLATION: &str = "icfg_bench_native";
const PROVISIONS: usize = 300;
const READS: usize = 2_000;
const VERIFICATIONS: usize = 5_000;

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)].as_secs_f64() * 1000.0;
    (at(0.50), at(0.99))
}

#[tokio::main]
async fn main() {
    let tether_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tether = format!("http://{}", tether_listener.local_addr().unwrap());
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let mut sim_config = SimConfig::new(&sim_url, format!("{tether}/callback"));
    sim_config.base_url = Some(tether.clone());
    let sim = vercel_sim::serve(sim_listener, sim_config).await.unwrap();
    let data_dir = std::env::temp_dir().join(format!("tether-bench-native-{}", rand::random::<u64>()));
    let env: HashMap<&str, String> = HashMap::from([
        ("TETHER_ADDR", tether_listener.local_addr().unwrap().to_string()),
        ("TETHER_DATA_DIR", data_dir.display().to_string()),
        ("TETHER_SIMULATOR_URL", sim_url.clone()),
        ("TETHER_MODE", "sandbox".to_string()),
    ]);
    let settings = Settings::from_sources(None, |k| env.get(k).cloned()).unwrap();
    let state = startup::build_state(settings).await.unwrap();
    tokio::spawn(startup::serve(tether_listener, state));

    // One token for every call: minting (an RSA signature) is Vercel's cost, not Tether's.
    let token = sim.sim.user_token(INSTALLATION, "u_bench", "ADMIN");
    let client = reqwest::Client::new();
    let base = format!("{tether}/v1/installations/{INSTALLATION}");
    let install = json!({"scopes": [], "acceptedPolicies": {}, "credentials": {"access_token": "t", "token_type": "Bearer"},
                         "account": {"name": "Bench"}});
    let put = client.put(&base).bearer_auth(&token).json(&install).send().await.unwrap();
    assert_eq!(put.status(), 204);

    let mut provisions = Vec::with_capacity(PROVISIONS);
    let mut resource = String::new();
    for n in 0..PROVISIONS {
        let body = json!({"productId": "tether", "name": format!("db-{n}"), "metadata": {}, "billingPlanId": "free"});
        let sent = Instant::now();
        let answer = client
            .post(format!("{base}/resources"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("bench-{n}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        provisions.push(sent.elapsed());
        assert_eq!(answer.status(), 200);
        resource = answer.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    }
    let mut reads = Vec::with_capacity(READS);
    for _ in 0..READS {
        let sent = Instant::now();
        let answer = client.get(format!("{base}/resources/{resource}")).bearer_auth(&token).send().await.unwrap();
        reads.push(sent.elapsed());
        assert_eq!(answer.status(), 200);
    }

    let verifier =
        Verifier::new(&sim.sim.issuer_url(), DEFAULT_CLIENT_ID, reqwest::Client::new(), REFETCH_AFTER).unwrap();
    verifier.verify(&token, TokenType::Access).await.unwrap();
    let started = Instant::now();
    for _ in 0..VERIFICATIONS {
        verifier.verify(&token, TokenType::Access).await.unwrap();
    }
    let per_verify_us = started.elapsed().as_secs_f64() * 1e6 / VERIFICATIONS as f64;

    let (provision_p50, provision_p99) = percentiles(provisions);
    let (read_p50, read_p99) = percentiles(reads);
    println!("native Partner API, built-in provider, SQLite");
    println!("  provision: p50 {provision_p50:.2} ms, p99 {provision_p99:.2} ms ({PROVISIONS} in turn)");
    println!("  read a resource: p50 {read_p50:.2} ms, p99 {read_p99:.2} ms ({READS} in turn)");
    println!("  token verification: {per_verify_us:.1} µs each (RS256, cached JWKS)");
    common::record(
        "native",
        &[
            common::row(
                "Partner API provision, built-in provider",
                format!("p50 {provision_p50:.2} ms, p99 {provision_p99:.2} ms"),
                format!("{PROVISIONS} provisions in turn over loopback HTTP, SQLite, goal p99 ≤ 10 ms"),
            ),
            common::row(
                "Partner API call (read a resource)",
                format!("p50 {read_p50:.2} ms, p99 {read_p99:.2} ms"),
                format!("{READS} reads in turn, token verified on each"),
            ),
            common::row(
                "Vercel token verification",
                format!("{per_verify_us:.1} µs"),
                format!("{VERIFICATIONS} RS256 verifications against the cached JWKS"),
            ),
        ],
    );
}
