//! The server's side of `app::backend::Backend`: each server function authorizes the
//! installation, then runs one operation on it.

use std::collections::HashMap;

use app::{
    backend::{Backend, BackendFuture},
    model::LinkReport,
    AppError,
};
use axum::http::HeaderMap;

use crate::state::AppState;

impl AppState {
    /// Runs one operation and notes what its error says of the installation (see
    /// [`AppState::note_error`]).
    async fn noting<T>(
        &self,
        configuration_id: &str,
        operation: impl std::future::Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        let result = operation.await;
        if let Err(error) = &result {
            self.note_error(configuration_id, error).await;
        }
        result
    }
}

impl Backend for AppState {
    fn link_projects<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        choices: HashMap<String, String>,
        clashes: HashMap<String, String>,
    ) -> BackendFuture<'a, LinkReport> {
        Box::pin(self.noting(configuration_id, async move {
            self.authorize(headers, configuration_id).await?.provision(choices, clashes).await
        }))
    }

    fn finish_install<'a>(&'a self, headers: &'a HeaderMap, configuration_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(
            self.noting(
                configuration_id,
                async move { self.authorize(headers, configuration_id).await?.finish().await },
            ),
        )
    }

    fn unlink_project<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        project_id: &'a str,
    ) -> BackendFuture<'a, ()> {
        Box::pin(self.noting(configuration_id, async move {
            self.authorize(headers, configuration_id).await?.unlink(project_id).await
        }))
    }

    fn rotate_credentials<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        resource_id: &'a str,
    ) -> BackendFuture<'a, ()> {
        Box::pin(self.noting(configuration_id, async move {
            self.authorize(headers, configuration_id).await?.rotate(resource_id).await
        }))
    }

    fn uninstall<'a>(&'a self, headers: &'a HeaderMap, configuration_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(self.noting(configuration_id, async move {
            self.authorize(headers, configuration_id).await?.uninstall().await
        }))
    }
}
