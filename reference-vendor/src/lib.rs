//! A vendor's system implementing Tether's provider contract (`docs/provider-contract.yaml`), the
//! way a vendor would write it in any language: its own database, its own check of Tether's
//! signatures, its own product rule (a plan allows a few databases per account). It shares no
//! code with Tether. Tests turn knobs to make it slow, down, or lose an answer after doing the
//! work.
//!
//! The modules: `vendor` (the service's state and the knobs tests turn), `signature` (the
//! contract's signature check), `error` (every refusal, with its status and code), `api` (what
//! every answer shares: flaws, accepting a signed call), `resources` (the contract's endpoints
//! over its own database), `link` (the sign-in page account linking sends users to), `sso`
//! (the same page, when Tether sends a user Vercel signed in) and `tether` (the calls the vendor
//! makes to Tether when it changes a database itself).

mod api;
mod error;
mod html;
mod link;
mod resources;
mod signature;
mod sso;
mod tether;
mod vendor;

use axum::{routing::post, Router};
use tokio::net::TcpListener;

use api::flawed_answers;
use link::{sign_in, sign_in_page};
use resources::{create, env, list, notice, release, rotate};
pub use vendor::{Flaw, Vendor, VendorHandle};

/// Where Tether's calls arrive: the base URL Tether is given ends here.
pub const BASE_PATH: &str = "/tether/v1";
/// The sign-in page Tether's account linking sends users to (TETHER_PROVIDER_ACCOUNT_LINK_URL).
pub const LINK_PATH: &str = "/link";
/// How far a request's timestamp may be from this clock.
pub(crate) const TOLERANCE_SECS: i64 = 5 * 60;

pub struct Config {
    /// `sqlite://…`, or `sqlite::memory:` for tests.
    pub database_url: String,
    /// The shared secrets, `id:whsec_base64[,…]`, as Tether's TETHER_PROVIDER_SECRETS.
    pub secrets: String,
    /// Resources an account may have: the product's own rule.
    pub plan_limit: i64,
}

pub async fn serve(listener: TcpListener, config: Config) -> anyhow::Result<VendorHandle> {
    let addr = listener.local_addr()?;
    let vendor = Vendor::new(config).await?;
    let app = router(vendor.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "reference vendor stopped");
        }
    });
    Ok(VendorHandle { addr, vendor })
}

pub fn router(vendor: Vendor) -> Router {
    let api = Router::new()
        .route("/resources/list", post(list))
        .route("/resources/create", post(create))
        .route("/resources/env", post(env))
        .route("/resources/rotate", post(rotate))
        .route("/resources/release", post(release))
        .route("/notices", post(notice));
    let api = api.layer(axum::middleware::from_fn_with_state(vendor.clone(), flawed_answers));
    Router::new()
        .nest(BASE_PATH, api)
        // For whoever starts the process and waits for it to listen.
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        // Account linking: the vendor's own sign-in page, where Tether sends the user.
        .route(LINK_PATH, axum::routing::get(sign_in_page).post(sign_in))
        // The vendor's own console: changes it makes, then tells Tether of.
        .route("/console/databases/{id}/{what}", post(tether::console_action))
        .with_state(vendor)
}
