//! The HTML the server writes and compresses itself, below the handlers: the install page's
//! project rows (written as markup, cached rendered and compressed) and the page assembled
//! around them. Handlers ask here for bytes; nothing here knows a request or the server's state.
//! Every value written into markup here goes through [`escape`].

pub mod compress;
pub mod page;
pub mod rows;

use std::borrow::Cow;

/// The one escaping of values written into markup by hand: safe as element text and inside a
/// double-quoted attribute, the only kind this markup writes (`&`, `<`, `>` and `"` become
/// entities). The crate is the one Leptos escapes with.
pub fn escape(value: &str) -> Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(value)
}

/// Why a page could not be made: each a bug or a resource exhausted, nothing the user did.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("the page was rendered without its rows' slot")]
    NoSlot,
    #[error("brotli failed: {0}")]
    Brotli(#[from] std::io::Error),
    #[error(transparent)]
    Join(#[from] compress::JoinError),
}

/// The user sees the internal-error page; the operator, the cause.
impl From<HtmlError> for app::AppError {
    fn from(error: HtmlError) -> Self {
        tracing::error!(%error, "a page could not be made");
        app::AppError::Internal
    }
}
