//! Server functions: parse, call the backend, map the error. Each also works as the target of a
//! plain HTML form, so the popup works before (or without) the wasm.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::{model::LinkReport, AppError};

/// The server's side for this request, which knows who is calling.
#[cfg(feature = "ssr")]
fn backend() -> Result<crate::backend::SharedBackend, AppError> {
    use_context::<crate::backend::SharedBackend>().ok_or(AppError::Internal)
}

/// The installation id, checked before anything uses it: it goes into redirects, where a stray
/// newline would be a broken header instead of a page. A malformed id reads like an unknown one.
#[cfg(feature = "ssr")]
fn checked(configuration_id: &str) -> Result<&str, AppError> {
    let well_formed = configuration_id.len() <= 128
        && configuration_id.strip_prefix("icfg_").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
        });
    well_formed.then_some(configuration_id).ok_or(AppError::NotYours)
}

/// Links projects to resources. `finish` is set by the plain form: on success the browser goes
/// on to Vercel's `next`, otherwise back to the page that shows what failed.
#[server(prefix = "/api", endpoint = "link_projects")]
pub async fn link_projects(
    configuration_id: String,
    #[server(default)] choices: HashMap<String, String>,
    #[server(default)] clashes: HashMap<String, String>,
    #[server(default)] finish: Option<String>,
) -> Result<LinkReport, AppError> {
    let configuration_id = checked(&configuration_id)?;
    let backend = backend()?;
    let report = match backend.link_projects(configuration_id, choices, clashes).await {
        Ok(report) => report,
        Err(error) => {
            // A plain form goes back to the page, which says what is needed (a sign-in, say).
            if finish.is_some() && error != AppError::NotYours {
                leptos_axum::redirect(&format!("/install/{configuration_id}"));
            }
            return Err(error);
        }
    };
    if finish.is_some() {
        if report.all_ok() {
            backend.finish_install(configuration_id).await?;
            leptos_axum::redirect(&done_url(configuration_id));
        } else {
            leptos_axum::redirect(&format!("/install/{configuration_id}"));
        }
    }
    Ok(report)
}

/// Ends the popup: returns the last step's address (what was connected, then on to Vercel's
/// `next`), and redirects a plain form there.
#[server(prefix = "/api", endpoint = "finish_install")]
pub async fn finish_install(configuration_id: String) -> Result<String, AppError> {
    let configuration_id = checked(&configuration_id)?;
    let backend = backend()?;
    backend.finish_install(configuration_id).await?;
    let done = done_url(configuration_id);
    leptos_axum::redirect(&done);
    Ok(done)
}

/// The popup's last step.
pub fn done_url(configuration_id: &str) -> String {
    format!("/install/{configuration_id}/done")
}

/// Where a Configure form returns, with a fixed notice key the page turns into a message.
pub fn configure_url(configuration_id: &str, notice: &str) -> String {
    format!("/configure?configurationId={configuration_id}&notice={notice}")
}

/// Runs a Configure action and sends a plain form back to the Configure page either way.
#[cfg(feature = "ssr")]
fn back_to_configure(configuration_id: &str, result: Result<(), AppError>, done: &str) -> Result<(), AppError> {
    let notice = match &result {
        Ok(()) => done,
        Err(AppError::NotYours) => "not-yours",
        Err(_) => "failed",
    };
    leptos_axum::redirect(&configure_url(configuration_id, notice));
    result
}

#[server(prefix = "/api", endpoint = "unlink_project")]
pub async fn unlink_project(configuration_id: String, project_id: String) -> Result<(), AppError> {
    let configuration_id = checked(&configuration_id)?;
    let backend = backend()?;
    let result = backend.unlink_project(configuration_id, &project_id).await;
    back_to_configure(configuration_id, result, "unlinked")
}

#[server(prefix = "/api", endpoint = "rotate_credentials")]
pub async fn rotate_credentials(configuration_id: String, resource_id: String) -> Result<(), AppError> {
    let configuration_id = checked(&configuration_id)?;
    let backend = backend()?;
    let result = backend.rotate_credentials(configuration_id, &resource_id).await;
    back_to_configure(configuration_id, result, "rotated")
}

/// `confirm` must be `yes`: the form's checkbox, so nobody uninstalls by a stray click.
#[server(prefix = "/api", endpoint = "uninstall")]
pub async fn uninstall(configuration_id: String, #[server(default)] confirm: Option<String>) -> Result<(), AppError> {
    let configuration_id = checked(&configuration_id)?;
    let backend = backend()?;
    if confirm.as_deref() != Some("yes") {
        return back_to_configure(configuration_id, Err(AppError::BadRequest("Tick the box to confirm.".into())), "");
    }
    backend.uninstall(configuration_id).await?;
    leptos_axum::redirect("/uninstalled");
    Ok(())
}
