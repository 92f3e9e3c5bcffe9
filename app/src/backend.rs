//! What the server functions need from the server, as a narrow trait: `app` stays free of
//! databases and HTTP clients, and `server` provides the implementation as context.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use http::HeaderMap;

use crate::{model::LinkReport, AppError};

pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

pub trait Backend: Send + Sync + 'static {
    /// Provisions the chosen projects for an installation the request's session owns.
    fn link_projects<'a>(
        &'a self,
        headers: &'a HeaderMap,
        configuration_id: &'a str,
        choices: HashMap<String, String>,
    ) -> BackendFuture<'a, LinkReport>;

    /// Marks the popup done and returns the validated `next` to send it to.
    fn finish_install<'a>(&'a self, headers: &'a HeaderMap, configuration_id: &'a str) -> BackendFuture<'a, String>;
}

pub type SharedBackend = Arc<dyn Backend>;
