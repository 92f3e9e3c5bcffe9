//! Server functions: parse, call the backend, map the error. Each also works as the target of a
//! plain HTML form, so the popup works before (or without) the wasm.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{model::LinkReport, AppError};

#[cfg(feature = "ssr")]
async fn backend_and_headers() -> Result<(crate::backend::SharedBackend, http::HeaderMap), AppError> {
    let backend = use_context::<crate::backend::SharedBackend>().ok_or(AppError::Internal)?;
    let headers = leptos_axum::extract::<http::HeaderMap>().await.map_err(|_| AppError::Internal)?;
    Ok((backend, headers))
}

/// Links projects to resources. `finish` is set by the plain form: on success the browser goes
/// on to Vercel's `next`, otherwise back to the page that shows what failed.
#[server(prefix = "/api", endpoint = "link_projects")]
pub async fn link_projects(
    configuration_id: String,
    #[server(default)] choices: HashMap<String, String>,
    #[server(default)] finish: Option<String>,
) -> Result<LinkReport, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let report = backend.link_projects(&headers, &configuration_id, choices).await?;
    if finish.is_some() {
        if report.all_ok() {
            let next = backend.finish_install(&headers, &configuration_id).await?;
            leptos_axum::redirect(&next);
        } else {
            leptos_axum::redirect(&format!("/install/{configuration_id}"));
        }
    }
    Ok(report)
}

/// Ends the popup: returns `next`, and redirects a plain form there.
#[server(prefix = "/api", endpoint = "finish_install")]
pub async fn finish_install(configuration_id: String) -> Result<String, AppError> {
    let (backend, headers) = backend_and_headers().await?;
    let next = backend.finish_install(&headers, &configuration_id).await?;
    leptos_axum::redirect(&next);
    Ok(next)
}
