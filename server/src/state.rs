//! What every request handler shares.

use std::{ops::Deref, sync::Arc};

use leptos::config::LeptosOptions;

use crate::{provider::Provider, settings::Settings, store::Store, vercel::Vercel};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub store: Store,
    pub vercel: Vercel,
    pub provider: Arc<dyn Provider>,
    pub leptos: LeptosOptions,
    /// The site's stylesheet, read once at start and sent inside every page: on a first visit
    /// its own request delayed the popup's first paint (measured in issue 27). None when the site
    /// is not built (the integration tests), and pages then link to it.
    pub stylesheet: Option<Arc<str>>,
    /// Wakes the webhook worker when an event is stored (the worker's `Wakeup`; named by its
    /// type here so the state stays below the webhook handlers that read it).
    pub worker: Arc<tokio::sync::Notify>,
    /// Stores Vercel's deliveries, several to a commit.
    pub intake: crate::store::inbox::Intake,
    /// Sealed values against the configured keys, as counted at start (for `/readyz`).
    pub key_report: crate::store::sealed::KeyReport,
    /// The install page's rendered rows, by a digest of what they show.
    pub rows: crate::html::rows::RowsCache,
    /// Bounds how many projects of one installation are provisioned at once.
    pub provisioning: crate::limits::Gates,
    /// Verifies the tokens Vercel signs its Partner API calls with (native integrations).
    pub partner_tokens: crate::vercel::oidc::Verifier,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
