//! What a browser may do to an installation it has proven it owns, between the handlers (which
//! parse and render) and the store, Vercel and the provider (which each do one thing). Every
//! operation starts from an [`Authorized`] installation, so none can forget the session check.

pub mod install;
mod manage;
mod provision;
mod read;

use std::borrow::Cow;

use app::AppError;

use crate::{
    params::ConfigurationId,
    secret::AccessToken,
    state::AppState,
    store::{
        installations::{token_binding, InstallationRow, InstallationStatus},
        project_cache::PROJECT_CACHE_TTL_MS,
        sessions::SessionRow,
    },
    vercel::{
        self,
        configuration::ProjectAccess,
        projects::{Project, ScopeName},
        scopes,
    },
    web::{failure::say, Caller},
};

/// A project id from a form: one that is not an id is no project of this installation.
fn known_project(id: &str) -> Result<crate::params::ProjectId, AppError> {
    crate::params::ProjectId::parse(id).map_err(|_| AppError::BadRequest(say::UNKNOWN_PROJECT.into()))
}

/// An installation the current browser's session may act on, with its token opened.
pub struct Authorized<'a> {
    app: &'a AppState,
    pub configuration_id: ConfigurationId,
    pub session: SessionRow,
    pub installation: InstallationRow,
    pub vercel: vercel::Installation,
    /// What [`AppState::authorize_listing`] read of the project cache with the session (a fresh
    /// listing, or none); `None` when the session was read alone.
    cached_listing: Option<Option<String>>,
}

impl AppState {
    /// Unknown ids and ids this browser has no session for are the same answer: `NotYours`.
    pub async fn authorize(&self, caller: &Caller, configuration_id: &str) -> Result<Authorized<'_>, AppError> {
        self.authorize_reading(caller, configuration_id, false).await
    }

    /// [`Self::authorize`] for a caller that will want [`Authorized::listing`]: the cached
    /// listing comes in the same query as the session.
    pub async fn authorize_listing(&self, caller: &Caller, configuration_id: &str) -> Result<Authorized<'_>, AppError> {
        self.authorize_reading(caller, configuration_id, true).await
    }

    async fn authorize_reading(
        &self,
        caller: &Caller,
        configuration_id: &str,
        listing: bool,
    ) -> Result<Authorized<'_>, AppError> {
        let configuration_id = ConfigurationId::parse(configuration_id).map_err(|_| AppError::NotYours)?;
        crate::telemetry::record_installation(&configuration_id);
        let hash = caller.session_hash().ok_or(AppError::NotYours)?;
        let signed_in = self
            .store
            .signed_in(hash, &configuration_id, listing)
            .await?
            .filter(|row| row.installation.status == InstallationStatus::Active)
            .ok_or(AppError::NotYours)?;
        let installation = signed_in.installation;
        let token =
            self.settings.sealer.open_string(&installation.sealed_token, &token_binding(configuration_id.as_str()))?;
        // Every caller is a request handler: none may keep the user waiting on Vercel for long.
        let vercel = self
            .vercel
            .as_installation(AccessToken::new(token), installation.team_id.clone())
            .with_budget(vercel::REQUEST_BUDGET);
        Ok(Authorized {
            app: self,
            configuration_id,
            session: signed_in.session,
            installation,
            vercel,
            cached_listing: listing.then_some(signed_in.listing),
        })
    }
}

impl AppState {
    /// Keeps the installation's disabled mark in step with an error Vercel just gave for it.
    /// Vercel sends no event when it disables an installation: a refused call is how Tether
    /// learns, and from then on its pages ask Vercel again instead of offering cached actions.
    pub async fn note_error(&self, configuration_id: &str, error: &AppError) {
        let Ok(configuration_id) = ConfigurationId::parse(configuration_id) else { return };
        if *error != AppError::Disabled {
            return;
        }
        match self.store.set_disabled(&configuration_id, true).await {
            Ok(true) => {
                tracing::info!(%configuration_id, "Vercel disabled this installation (its installer left the team)")
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot record a disabled installation"),
        }
    }
}

impl Authorized<'_> {
    /// Vercel answered for an installation marked disabled: it works again (an owner
    /// transferred it, and its event may not have arrived yet).
    pub async fn note_working(&self) -> Result<(), AppError> {
        if self.installation.disabled_at.is_some() && self.app.store.set_disabled(self.id(), false).await? {
            tracing::info!(configuration_id = %self.id(), "a disabled installation works again");
        }
        Ok(())
    }

    pub fn id(&self) -> &ConfigurationId {
        &self.configuration_id
    }

    /// The vendor's account this installation maps to.
    pub fn owner(&self) -> &str {
        self.installation.owner_id()
    }

    /// Account linking is configured and the user has not signed in at the vendor yet.
    pub fn needs_vendor_account(&self) -> bool {
        self.app.settings.provider.account_link_url.is_some() && self.installation.vendor_account.is_none()
    }

    /// The account's name and its Vercel projects as cached (JSON, see [`parse_listing`]): from
    /// the short-lived cache, unless `refresh` or it is stale, when Vercel is asked for both
    /// again and the cache rewritten. The name is cached with the list so a page load asks
    /// Vercel nothing while the cache is fresh, and the text is kept as stored so a page whose
    /// rows are cached never parses it. A listing read with the session is lent, not copied:
    /// on every load of a 250-project page it is about 30 KB.
    pub async fn listing(&self, refresh: bool) -> Result<Cow<'_, str>, AppError> {
        // A disabled installation's cached projects would offer actions that fail.
        if !refresh && self.installation.disabled_at.is_none() {
            match &self.cached_listing {
                Some(Some(json)) => return Ok(Cow::Borrowed(json)),
                Some(None) => {}
                None => {
                    if let Some(json) = self.app.store.cached_projects(self.id(), PROJECT_CACHE_TTL_MS).await? {
                        return Ok(Cow::Owned(json));
                    }
                }
            }
        }
        let (scope, mut projects, access) = tokio::try_join!(
            self.vercel.scope_name(),
            self.vercel.all_projects(),
            self.vercel.project_access(self.id())
        )?;
        self.note_working().await?;
        // Vercel may list projects the user did not give the installation: only the given ones
        // are offered.
        let limited = access != ProjectAccess::All;
        projects.retain(|p| access.allows(&p.id));
        let json =
            serde_json::to_string(&Listing::new(scope, projects, limited)).map_err(crate::web::failure::internal)?;
        self.app.store.cache_projects(self.id(), &json).await?;
        Ok(Cow::Owned(json))
    }

    /// Which projects the user gave the installation, for the check on every Connect: from the
    /// cached listing whatever its age, since a refresh here would list every project again for
    /// each project of a batch (the hydrated popup sends one request per project); from Vercel
    /// when nothing is cached (a change of access at Vercel empties the cache).
    pub async fn project_access(&self) -> Result<ProjectAccess, AppError> {
        let cached = self.app.store.cached_projects(self.id(), i64::MAX).await?;
        match cached.as_deref().and_then(listing_access) {
            Some(access) => Ok(access),
            None => Ok(self.vercel.project_access(self.id()).await?),
        }
    }

    /// The install popup is done; its last step shows the session's `next`.
    pub async fn finish(&self) -> Result<(), AppError> {
        self.app.store.mark_finished(self.id()).await?;
        crate::telemetry::install(self.installation.source.as_str(), "completed", "");
        Ok(())
    }
}

/// A listing as [`Authorized::listing`] returns it; `None` for text this version did not write.
pub fn parse_listing(json: &str) -> Option<Listed> {
    serde_json::from_str::<Listing>(json).ok().map(Listing::into_parts)
}

/// What a cached listing says of the installation's access, reading its projects' ids only
/// when it was limited; `None` for text this version did not write.
fn listing_access(json: &str) -> Option<ProjectAccess> {
    #[derive(serde::Deserialize)]
    struct Limited {
        #[serde(default)]
        limited: bool,
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    #[derive(serde::Deserialize)]
    struct Ids {
        projects: Vec<Id>,
    }
    if !serde_json::from_str::<Limited>(json).ok()?.limited {
        return Some(ProjectAccess::All);
    }
    let listed: Ids = serde_json::from_str(json).ok()?;
    Some(ProjectAccess::Only(listed.projects.into_iter().map(|p| p.id).collect()))
}

/// The account's name and the projects the installation may use.
pub struct Listed {
    pub scope: ScopeName,
    pub projects: Vec<Project>,
    /// The user gave the installation only these projects, not all of the account's.
    pub limited: bool,
}

/// The cached form of an account's listing. A scope Vercel would not name the account without
/// is kept by id: the scopes themselves are constants.
#[derive(serde::Serialize, serde::Deserialize)]
struct Listing {
    name: String,
    missing_scope: Option<String>,
    projects: Vec<Project>,
    #[serde(default)]
    limited: bool,
}

impl Listing {
    fn new(scope: ScopeName, projects: Vec<Project>, limited: bool) -> Self {
        Listing { name: scope.name, missing_scope: scope.missing_scope.map(|s| s.id.to_owned()), projects, limited }
    }

    fn into_parts(self) -> Listed {
        let missing_scope = self.missing_scope.and_then(|id| scopes::REQUIRED.iter().copied().find(|s| s.id == id));
        Listed { scope: ScopeName { name: self.name, missing_scope }, projects: self.projects, limited: self.limited }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_listing_says_which_projects_the_installation_was_given() {
        let limited = r#"{"name":"Acme","missing_scope":null,"projects":[{"id":"prj_a","name":"a"}],"limited":true}"#;
        assert_eq!(listing_access(limited), Some(ProjectAccess::Only(vec!["prj_a".into()])));
        let all = r#"{"name":"Acme","missing_scope":null,"projects":[{"id":"prj_a","name":"a"}],"limited":false}"#;
        assert_eq!(listing_access(all), Some(ProjectAccess::All));
        // Written before listings said whether they were limited: all projects.
        let older = r#"{"name":"Acme","missing_scope":null,"projects":[]}"#;
        assert_eq!(listing_access(older), Some(ProjectAccess::All));
        assert_eq!(listing_access("not json"), None);
    }
}
