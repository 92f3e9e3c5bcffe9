//! The simulator as a process, for `cargo xtask run` and the Playwright specs.

use anyhow::Context;
use vercel_sim::SimConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let addr = std::env::var("SIM_ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let public_url = std::env::var("SIM_PUBLIC_URL").unwrap_or_else(|_| format!("http://{addr}"));
    let redirect_url = std::env::var("SIM_REDIRECT_URL").unwrap_or_else(|_| "http://127.0.0.1:3000/callback".into());
    let mut config = SimConfig::new(public_url.clone(), redirect_url);
    config.webhook_url = Some(std::env::var("SIM_WEBHOOK_URL").unwrap_or_else(|_| {
        let origin = redirect_origin(&config.redirect_url);
        format!("{origin}/webhooks/vercel")
    }));
    // The Partner API of native integrations answers at the integration's Base URL.
    config.base_url = Some(std::env::var("SIM_BASE_URL").unwrap_or_else(|_| redirect_origin(&config.redirect_url)));
    // "Open in {vendor}" sends the browser here (Tether's `/sso`).
    config.login_url = Some(
        std::env::var("SIM_LOGIN_URL").unwrap_or_else(|_| format!("{}/sso", redirect_origin(&config.redirect_url))),
    );
    if let Ok(products) = std::env::var("SIM_PRODUCTS") {
        config.products = serde_json::from_str(&products).context("SIM_PRODUCTS is not a JSON list of products")?;
    }
    if let Ok(secret) = std::env::var("SIM_CLIENT_SECRET") {
        config.client_secret = secret;
    }
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set SIM_ADDR)"))?;
    let handle = vercel_sim::serve(listener, config).await?;
    if let Some(ms) = std::env::var("SIM_ENV_WRITE_LATENCY_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        handle.sim.set_quirks(|q| q.env_write_latency = std::time::Duration::from_millis(ms));
    }
    println!("Vercel simulator: open {public_url}/ to install the integration");
    // Stop quietly on Ctrl-C or on SIGTERM from whoever started us.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

fn redirect_origin(redirect_url: &str) -> String {
    url::Url::parse(redirect_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}
