//! The server's side of `app::backend::Backend`, made for each server-function request with who
//! is calling: each function authorizes the installation for that caller, then runs one
//! operation on it.

use std::collections::HashMap;

use app::{
    backend::{Backend, BackendFuture},
    model::LinkReport,
    AppError,
};

use crate::{state::AppState, web::Caller};

/// The backend one request's server function sees.
pub struct ForCaller {
    pub state: AppState,
    pub caller: Caller,
}

impl ForCaller {
    /// Runs one operation and notes what its error says of the installation (see
    /// [`AppState::note_error`]).
    async fn noting<T>(
        &self,
        configuration_id: &str,
        operation: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        let result = operation.await;
        if let Err(error) = &result {
            self.state.note_error(configuration_id, error).await;
        }
        result
    }

    async fn authorize(&self, configuration_id: &str) -> Result<crate::ops::Authorized<'_>, AppError> {
        self.state.authorize(&self.caller, configuration_id).await
    }
}

impl Backend for ForCaller {
    fn link_projects<'a>(
        &'a self,
        configuration_id: &'a str,
        choices: HashMap<String, String>,
        clashes: HashMap<String, String>,
    ) -> BackendFuture<'a, LinkReport> {
        Box::pin(self.noting(configuration_id, async move {
            self.authorize(configuration_id).await?.provision(choices, clashes).await
        }))
    }

    fn finish_install<'a>(&'a self, configuration_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(self.noting(configuration_id, async move { self.authorize(configuration_id).await?.finish().await }))
    }

    fn unlink_project<'a>(&'a self, configuration_id: &'a str, project_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(
            self.noting(
                configuration_id,
                async move { self.authorize(configuration_id).await?.unlink(project_id).await },
            ),
        )
    }

    fn rotate_credentials<'a>(&'a self, configuration_id: &'a str, resource_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(
            self.noting(
                configuration_id,
                async move { self.authorize(configuration_id).await?.rotate(resource_id).await },
            ),
        )
    }

    fn uninstall<'a>(&'a self, configuration_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(
            self.noting(configuration_id, async move { self.authorize(configuration_id).await?.uninstall().await }),
        )
    }
}
