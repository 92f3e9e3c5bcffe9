//! A local stand-in for Vercel: the OAuth token endpoint, the REST subset Tether uses, and a
//! dashboard that opens Tether's Redirect URL in a popup the way Vercel does. Tests start it
//! in-process on port 0; `cargo xtask run` starts the binary beside Tether.

mod api;
mod dashboard;
mod oauth;
pub mod state;
pub mod webhooks;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::net::TcpListener;

pub use state::{Account, Begin, CallRecord, EnvVar, Fault, Installation, Project, Sim, Snapshot};

/// The simulator's seeded accounts, so a sandboxed Tether can seed matching vendor resources.
pub const PERSONAL_USER_ID: &str = "user_sim_alice";
pub const TEAM_ID: &str = "team_sim_acme";
pub const TEAM_PROJECTS: usize = 250;
pub const PERSONAL_PROJECTS: usize = 3;
pub const DEFAULT_CLIENT_ID: &str = "oac_sim_tether";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret-not-for-production";

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Tether's Redirect URL, exactly as registered (the exchange must repeat it).
    pub redirect_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the simulator itself is reachable; `next` points here.
    pub public_url: String,
    /// The integration's Webhook URL; without one, events are recorded but not sent.
    pub webhook_url: Option<String>,
}

impl SimConfig {
    pub fn new(public_url: impl Into<String>, redirect_url: impl Into<String>) -> Self {
        Self {
            redirect_url: redirect_url.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            public_url: public_url.into(),
            webhook_url: None,
        }
    }
}

pub fn router(sim: Sim) -> Router {
    Router::new().merge(dashboard::routes()).merge(api::routes(sim.clone())).with_state(sim)
}

/// A simulator serving on its own task; dropping the handle leaves it running until the runtime ends.
pub struct SimHandle {
    pub addr: SocketAddr,
    pub sim: Sim,
}

impl SimHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Serve on an already bound listener (bind first on port 0 to learn the address for the config).
pub async fn serve(listener: TcpListener, config: SimConfig) -> anyhow::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let sim = Sim::new(Arc::new(config));
    let app = router(sim.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "simulator stopped");
        }
    });
    Ok(SimHandle { addr, sim })
}
