//! What the pages show of an authorized installation: its links, the variables Tether wrote,
//! what Vercel's webhooks told of its projects, and the vendor's resources for its account.
//! Handlers read through here, never the store.

use app::AppError;

use super::Authorized;
use crate::{provider::Resource, store::links::LinkRow};

/// A project event as Configure shows it: (project id, kind, detail).
pub type ProjectEvent = (String, String, String);

impl Authorized<'_> {
    pub async fn links(&self) -> Result<Vec<LinkRow>, AppError> {
        Ok(self.app.store.links_of(self.id()).await?)
    }

    /// (project id, Vercel's env var id, key) of every variable Tether wrote, by project and key.
    pub async fn written_env(&self) -> Result<Vec<(String, String, String)>, AppError> {
        Ok(self.app.store.env_vars_of(self.id()).await?)
    }

    /// What Vercel's webhooks said of the installation's projects (deployments, new projects),
    /// oldest first.
    pub async fn project_events(&self) -> Result<Vec<ProjectEvent>, AppError> {
        Ok(self.app.store.project_events_of(self.id()).await?)
    }

    /// The vendor's resources for this installation's account.
    pub async fn resources(&self) -> Result<Vec<Resource>, AppError> {
        Ok(self.app.provider.resources(self.owner()).await?)
    }

    /// Records the account the user signed in to at the vendor, spending the sign-in's ticket
    /// (by `ticket_digest`) so its answer cannot be used twice: `false` when it was spent
    /// already, and nothing was recorded.
    pub async fn link_vendor_account(
        &self,
        ticket_digest: &str,
        account: &str,
    ) -> Result<bool, crate::store::StoreError> {
        if !self.app.store.claim_code(ticket_digest, self.id()).await? {
            return Ok(false);
        }
        self.app.store.link_vendor_account(self.id(), account).await?;
        Ok(true)
    }
}
