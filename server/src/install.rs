//! The install popup: the callback that turns Vercel's code into a stored installation, the
//! page that lists the account's projects, and the provisioning behind the Connect button.

pub mod callback;
pub mod link;
pub mod page;
pub mod start;

use app::AppError;
use axum::http::HeaderMap;

use crate::{
    params::ConfigurationId,
    secret::AccessToken,
    state::AppState,
    store::{installations::token_binding, installations::InstallationRow, sessions::SessionRow},
    vercel, web,
};

/// An installation the current browser's session may act on, with its opened token.
pub struct Owned {
    pub configuration_id: ConfigurationId,
    pub session: SessionRow,
    pub installation: InstallationRow,
    pub vercel: vercel::Installation,
}

impl AppState {
    /// Unknown ids and ids this browser has no session for are the same answer: `NotYours`.
    pub async fn owned(&self, headers: &HeaderMap, configuration_id: &str) -> Result<Owned, AppError> {
        let configuration_id = ConfigurationId::parse(configuration_id).map_err(|_| AppError::NotYours)?;
        let hash = web::session_hash(headers, self.settings.secure_cookies()).ok_or(AppError::NotYours)?;
        let session = self
            .store
            .session_for(&hash, configuration_id.as_str())
            .await
            .map_err(internal)?
            .ok_or(AppError::NotYours)?;
        let installation = self
            .store
            .installation(configuration_id.as_str())
            .await
            .map_err(internal)?
            .filter(|i| i.status == crate::store::installations::InstallationStatus::Active)
            .ok_or(AppError::NotYours)?;
        let token = self
            .settings
            .sealer
            .open_string(&installation.sealed_token, &token_binding(configuration_id.as_str()))
            .map_err(|error| {
                tracing::error!(%error, configuration_id = %configuration_id, "stored token does not open");
                AppError::Internal
            })?;
        // Every caller is a request handler: none may keep the user waiting on Vercel for long.
        let vercel = self
            .vercel
            .as_installation(AccessToken::new(token), installation.team_id.clone())
            .with_budget(vercel::REQUEST_BUDGET);
        Ok(Owned { configuration_id, session, installation, vercel })
    }
}

/// Logs the cause in full and gives the browser only the generic message.
pub fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "internal error");
    AppError::Internal
}

pub fn vercel_error(error: vercel::VercelError) -> AppError {
    use vercel::VercelError as E;
    tracing::warn!(%error, "Vercel call failed");
    match error {
        E::Disabled => AppError::Vercel(
            "this installation is disabled at Vercel (did its owner leave the team?). Reinstall the integration from Vercel."
                .into(),
        ),
        E::Unauthorized => AppError::Vercel(
            "Vercel no longer accepts this installation's access. Reinstall the integration from Vercel.".into(),
        ),
        E::MissingScope(scope) => AppError::Vercel(scope.fix()),
        E::RateLimited => {
            AppError::Vercel("Vercel is rate limiting requests right now. Wait a minute and try again.".into())
        }
        E::Busy { retry_after } => AppError::Busy {
            message: format!(
                "Vercel asked Tether to wait about {} s before going on. Nothing was lost: try again in a moment.",
                retry_after.as_secs().max(1)
            ),
            retry_after_secs: retry_after.as_secs().max(1),
        },
        E::Api { status: 404, .. } => AppError::Vercel("this installation cannot see that project any more.".into()),
        E::Pagination { endpoint } => AppError::Vercel(format!(
            "{endpoint} kept answering with pages Tether had already seen, so the project list cannot be read. \
             Try again later."
        )),
        _ => AppError::Vercel("Vercel did not answer as expected. Try again in a moment.".into()),
    }
}
