//! The server's side of `app::backend::Backend`: each server function's work, behind the
//! session check that every one of them starts with.

use std::collections::HashMap;

use app::{
    backend::{Backend, BackendFuture},
    model::LinkReport,
};
use axum::http::HeaderMap;

use crate::{install::internal, state::AppState};

impl Backend for AppState {
    fn link_projects<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        choices: HashMap<String, String>,
        clashes: HashMap<String, String>,
    ) -> BackendFuture<'a, LinkReport> {
        Box::pin(async move { self.provision(&self.owned(headers, configuration_id).await?, choices, clashes).await })
    }

    fn finish_install<'a>(&'a self, headers: &'a HeaderMap, configuration_id: &'a str) -> BackendFuture<'a, String> {
        Box::pin(async move {
            let owned = self.owned(headers, configuration_id).await?;
            self.store.mark_finished(owned.configuration_id.as_str()).await.map_err(internal)?;
            Ok(owned.session.next_url)
        })
    }

    fn unlink_project<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        project_id: &'a str,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move { self.unlink(&self.owned(headers, configuration_id).await?, project_id).await })
    }

    fn rotate_credentials<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        resource_id: &'a str,
    ) -> BackendFuture<'a, ()> {
        Box::pin(async move { self.rotate(&self.owned(headers, configuration_id).await?, resource_id).await })
    }

    fn uninstall<'a>(&'a self, headers: &'a HeaderMap, configuration_id: &'a str) -> BackendFuture<'a, ()> {
        Box::pin(async move { self.uninstall_installation(&self.owned(headers, configuration_id).await?).await })
    }
}
