//! The one error type that crosses to the browser: a status and a message a user can act on.
//! Causes stay in the server's logs.
//!
//! On the wire it is one JSON object of a shape declared here, not serde's layout of the enum:
//! `{"kind":"busy","message":"Still working: …","detail":"…","retry_after_secs":5}`. `kind`
//! names the variant ([`AppError::kind`]), `message` is what the user reads, and `detail` and
//! `retry_after_secs` carry the variant's data. The island reads `kind` and `message` with the
//! browser's own JSON parser and compares `kind` with [`AppError::kind`] of a variant, so
//! renaming a variant cannot silently break it, and no serde code reaches the wasm.

use leptos::server_fn::{codec::JsonEncoding, error::FromServerFnError, error::ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

impl AppError {
    /// The variant's name on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::NotYours => "not_yours",
            AppError::BadRequest(_) => "bad_request",
            AppError::Vercel(_) => "vercel",
            AppError::VercelUnavailable(_) => "vercel_unavailable",
            AppError::Disabled => "disabled",
            AppError::Clash(_) => "clash",
            AppError::Busy { .. } => "busy",
            AppError::Vendor(_) => "vendor",
            AppError::VendorUnavailable(_) => "vendor_unavailable",
            AppError::VendorMisconfigured { .. } => "vendor_misconfigured",
            AppError::Internal => "internal",
        }
    }

    /// The variant's text, for those that carry one: a message, the clashing keys, a reference.
    fn detail(&self) -> Option<&str> {
        match self {
            AppError::BadRequest(text)
            | AppError::Vercel(text)
            | AppError::VercelUnavailable(text)
            | AppError::Clash(text)
            | AppError::Vendor(text)
            | AppError::VendorUnavailable(text)
            | AppError::Busy { message: text, .. }
            | AppError::VendorMisconfigured { reference: text } => Some(text),
            AppError::NotYours | AppError::Disabled | AppError::Internal => None,
        }
    }

    /// The error a wire object describes; an unknown kind, or one without the text its variant
    /// needs, reads as [`AppError::Internal`].
    fn from_wire(wire: Wire) -> Self {
        let Wire { kind, detail, retry_after_secs, .. } = wire;
        let with_text = |make: fn(String) -> AppError| detail.clone().map_or(AppError::Internal, make);
        match kind.as_str() {
            "not_yours" => AppError::NotYours,
            "bad_request" => with_text(AppError::BadRequest),
            "vercel" => with_text(AppError::Vercel),
            "vercel_unavailable" => with_text(AppError::VercelUnavailable),
            "disabled" => AppError::Disabled,
            "clash" => with_text(AppError::Clash),
            "busy" => detail.map_or(AppError::Internal, |message| AppError::Busy {
                message,
                retry_after_secs: retry_after_secs.unwrap_or(1),
            }),
            "vendor" => with_text(AppError::Vendor),
            "vendor_unavailable" => with_text(AppError::VendorUnavailable),
            "vendor_misconfigured" => {
                detail.map_or(AppError::Internal, |reference| AppError::VendorMisconfigured { reference })
            }
            _ => AppError::Internal,
        }
    }
}

/// The wire form (see the module's docs).
#[derive(Serialize, Deserialize)]
struct Wire {
    kind: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let retry_after_secs = match self {
            AppError::Busy { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let wire = Wire {
            kind: self.kind().to_owned(),
            message: self.to_string(),
            detail: self.detail().map(str::to_owned),
            retry_after_secs,
        };
        wire.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AppError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Wire::deserialize(deserializer).map(AppError::from_wire)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<AppError> {
        vec![
            AppError::NotYours,
            AppError::BadRequest("Unknown project.".into()),
            AppError::Vercel("this installation cannot see that project any more.".into()),
            AppError::VercelUnavailable("Vercel did not answer.".into()),
            AppError::Disabled,
            AppError::Clash("ACME_URL, ACME_API_KEY".into()),
            AppError::Busy { message: "wait".into(), retry_after_secs: 7 },
            AppError::Vendor("Your plan allows 3 databases.".into()),
            AppError::VendorUnavailable("down".into()),
            AppError::VendorMisconfigured { reference: "ref_1".into() },
            AppError::Internal,
        ]
    }

    /// What the server writes, the server reads back as the same error; and each carries the
    /// two fields the island reads, `kind` and the user's `message`.
    #[test]
    fn every_error_survives_the_wire_and_says_its_kind_and_message() {
        let errors = every_kind();
        let mut kinds: Vec<_> = errors.iter().map(AppError::kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), errors.len(), "each variant has its own kind");
        for error in errors {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["kind"], error.kind(), "{json}");
            assert_eq!(json["message"], error.to_string(), "{json}");
            assert_eq!(serde_json::from_value::<AppError>(json).unwrap(), error);
        }
    }

    #[test]
    fn an_unknown_or_incomplete_wire_error_reads_as_internal() {
        for json in [r#"{"kind":"new_kind","message":"?"}"#, r#"{"kind":"vendor","message":"?"}"#] {
            assert_eq!(serde_json::from_str::<AppError>(json).unwrap(), AppError::Internal, "{json}");
        }
    }
}
