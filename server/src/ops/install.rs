//! What the callback asks of the store while it makes an installation: spending the code once,
//! and keeping the installation with its sealed token and the browser's first session. Through
//! here, like every other way to an installation.

use crate::params::ConfigurationId;
use crate::{
    params::{AuthCode, CallbackParams},
    secret::AccessToken,
    state::AppState,
    store::{
        installations::{token_binding, NewInstallation},
        sessions::NewSession,
        StoreError,
    },
    web,
};

/// What spending a callback's code found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The code is this callback's to exchange.
    Fresh,
    /// It was spent already: a replay, or a second tab.
    Spent,
    /// Vercel removed the installation. Removal is final (Vercel never reuses an id), so a
    /// callback for it gets no exchange, no row and no session.
    Removed,
}

/// The scope an installation acts in, as Vercel's answer and the query agree on it.
pub struct Identity {
    pub team_id: Option<String>,
    pub user_id: String,
}

impl AppState {
    /// Spends a callback's code for its installation, once.
    pub async fn claim_callback(
        &self,
        code: &AuthCode,
        configuration_id: &ConfigurationId,
    ) -> Result<Claim, StoreError> {
        if self.store.is_removed(configuration_id).await? {
            return Ok(Claim::Removed);
        }
        Ok(if self.store.claim_code(&code.digest(), configuration_id).await? { Claim::Fresh } else { Claim::Spent })
    }

    /// Spends a single-use value (an external flow's state) for an installation: `false` when
    /// it was spent already.
    pub async fn spend_once(&self, digest: &str, configuration_id: &ConfigurationId) -> Result<bool, StoreError> {
        self.store.claim_code(digest, configuration_id).await
    }

    /// Keeps the installation, its token sealed to it, and a new session for this browser, whose
    /// id (the cookie's value) it returns; `None` when Vercel's removal webhook won the race.
    pub async fn keep_installation(
        &self,
        params: &CallbackParams,
        identity: &Identity,
        token: &AccessToken,
    ) -> Result<Option<String>, StoreError> {
        let configuration_id = &params.configuration_id;
        let sealed = self.settings.sealer.seal(token.expose().as_bytes(), &token_binding(configuration_id.as_str()));
        let (session_id, session_hash) = web::new_session_id();
        let installation = NewInstallation {
            configuration_id,
            team_id: identity.team_id.as_deref(),
            user_id: &identity.user_id,
            source: params.source,
            sealed_token: &sealed,
        };
        let session = NewSession {
            id_hash: &session_hash,
            configuration_id: configuration_id.as_str(),
            next_url: params.next.as_str(),
            current_project_id: params.current_project_id.as_ref().map(|p| p.as_str()),
            external_id: params.external_id.as_deref(),
            lifetime_ms: web::SESSION_LIFETIME_MS,
        };
        Ok(self.store.store_installation(installation, session).await?.then_some(session_id))
    }
}
