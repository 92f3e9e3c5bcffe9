//! The one error type that crosses to the browser: a status and a message a user can act on.
//! Causes stay in the server's logs.

use leptos::server_fn::{codec::JsonEncoding, error::FromServerFnError, error::ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Unknown installation, or one this browser has no session for: the two look the same.
    #[error("This installation was not found, or this browser did not start it.")]
    NotYours,
    #[error("{0}")]
    BadRequest(String),
    #[error("Vercel: {0}")]
    Vercel(String),
    /// Vercel did not answer, or answered with a server error: nothing was changed.
    #[error("{0}")]
    VercelUnavailable(String),
    /// Vercel disabled the installation (the member who installed it left the team): nothing
    /// works until a team owner transfers it, and nothing was changed.
    #[error(
        "This installation is disabled at Vercel: the member who installed it left the team. A team owner can \
         transfer it to a current member in Vercel's dashboard; until then nothing can be changed here."
    )]
    Disabled,
    /// The project already has variables of these names (`A, B`) that Tether did not create.
    #[error("{}", clash_message(.0))]
    Clash(String),
    /// Vercel asked Tether to wait longer than a request may: nothing failed, try again shortly.
    #[error("Still working: {message}")]
    Busy { message: String, retry_after_secs: u64 },
    /// The vendor's system said no (a plan limit, say): its own words, for the user.
    #[error("{0}")]
    Vendor(String),
    /// The vendor's system did not answer: nothing was written, the user's choices are kept.
    #[error("{0}")]
    VendorUnavailable(String),
    /// The vendor's system refused Tether's signature: the service is misconfigured, which its
    /// operator must fix. `reference` finds the log line that has the vendor's own words.
    #[error(
        "The service is misconfigured, so nothing was written (reference {reference}). Its operator has been told."
    )]
    VendorMisconfigured { reference: String },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

/// The verb for how many variables a clash names: "ACME_URL already exists", "ACME_URL,
/// ACME_API_KEY already exist".
pub fn exist(count: usize) -> &'static str {
    if count == 1 {
        "exists"
    } else {
        "exist"
    }
}

fn clash_message(keys: &str) -> String {
    let count = keys.split(", ").count();
    let them = if count == 1 { "it" } else { "them" };
    format!(
        "{keys} already {} in this project, made outside Tether: keep yours or replace {them}, then connect again.",
        exist(count)
    )
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotYours => 404,
            AppError::BadRequest(_) => 400,
            AppError::Vercel(_) | AppError::VercelUnavailable(_) => 502,
            AppError::Disabled => 403,
            AppError::Busy { .. } => 503,
            AppError::Clash(_) => 409,
            AppError::Vendor(_) => 422,
            AppError::VendorUnavailable(_) | AppError::VendorMisconfigured { .. } => 503,
            AppError::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) => AppError::BadRequest(format!("Invalid request: {message}")),
            _ => AppError::Internal,
        }
    }
}
