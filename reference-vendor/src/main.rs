//! The reference vendor as a process, for `cargo xtask run --provider http` and the Playwright
//! spec that installs through it.

use anyhow::Context;
use reference_vendor::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let addr = std::env::var("REFVENDOR_ADDR").unwrap_or_else(|_| "127.0.0.1:3200".into());
    let secrets = std::env::var("REFVENDOR_SECRETS")
        .context("REFVENDOR_SECRETS is required: the same id:whsec_… list Tether has as TETHER_PROVIDER_SECRETS")?;
    let config = Config {
        database_url: std::env::var("REFVENDOR_DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://data/reference-vendor.db".into()),
        secrets,
        plan_limit: std::env::var("REFVENDOR_PLAN_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(3),
    };
    if let Some(dir) = config.database_url.strip_prefix("sqlite://").and_then(|p| std::path::Path::new(p).parent()) {
        std::fs::create_dir_all(dir).ok();
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set REFVENDOR_ADDR)"))?;
    let handle = reference_vendor::serve(listener, config).await?;
    // Where its own changes are told (the contract's calls to Tether); none without it.
    if let Ok(url) = std::env::var("REFVENDOR_TETHER_URL") {
        handle.vendor.set_tether_url(&url);
    }
    println!("Reference vendor: Tether's provider contract at {}", handle.base_url());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}
