//! HTML the server writes and compresses itself, below the handlers: the install page's rows
//! cached rendered and compressed, and brotli for pages assembled from parts. Handlers ask
//! here for bytes; nothing here knows a request or the server's state.

pub mod compress;
pub mod rows;
