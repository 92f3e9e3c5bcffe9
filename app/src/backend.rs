//! What the server functions need from the server, as a narrow trait: `app` stays free of
//! databases and HTTP clients, and `server` provides the implementation as context, one per
//! request, that already knows who is calling (it read the session before the function ran).

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use crate::{model::LinkReport, AppError};

pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

pub trait Backend: Send + Sync + 'static {
    /// Provisions the chosen projects for an installation the caller's session owns;
    /// `clashes` says, per project, whether to keep or replace same-named variables made by
    /// someone else.
    fn link_projects<'a>(
        &'a self,
        configuration_id: &'a str,
        choices: HashMap<String, String>,
        clashes: HashMap<String, String>,
    ) -> BackendFuture<'a, LinkReport>;

    /// Marks the popup done; the last step then leads the browser to `next`.
    fn finish_install<'a>(&'a self, configuration_id: &'a str) -> BackendFuture<'a, ()>;

    /// Removes exactly the env vars Tether created in a project, then the link.
    fn unlink_project<'a>(&'a self, configuration_id: &'a str, project_id: &'a str) -> BackendFuture<'a, ()>;

    /// New credentials for a resource, written to every project this installation linked to it.
    fn rotate_credentials<'a>(&'a self, configuration_id: &'a str, resource_id: &'a str) -> BackendFuture<'a, ()>;

    /// Uninstalls at Vercel, then forgets the token and ends the sessions.
    fn uninstall<'a>(&'a self, configuration_id: &'a str) -> BackendFuture<'a, ()>;
}

pub type SharedBackend = Arc<dyn Backend>;
