//! Tether's user interface: the popup's pages, rendered on the server and usable without
//! JavaScript, with islands that hydrate where interaction helps (live search, per-project
//! progress), and the server functions those islands and plain forms call.

pub mod api;
pub mod error;
pub mod islands;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod backend;

pub use error::AppError;
