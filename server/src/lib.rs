//! Tether's server: a Vercel integration's Redirect URL, Configure page and API, in one binary.

pub mod backend;
pub mod configure;
pub mod console;
pub mod html;
pub mod install;
pub mod limits;
pub mod native;
pub mod operator;
pub mod ops;
pub mod params;
pub mod provider;
pub mod seal;
pub mod secret;
pub mod settings;
pub mod signing;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod vercel;
pub mod web;
pub mod webhook;
