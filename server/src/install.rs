//! The install popup: how it starts, the callback that turns Vercel's code into a stored
//! installation, and the page that lists the account's projects (Connect runs `ops::provision`).

pub mod account;
pub mod callback;
pub mod done;
pub mod page;
pub mod start;
