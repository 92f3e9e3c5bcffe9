#![expect(clippy::unwrap_used)]
//! Integration tests: Tether over real HTTP against an in-process simulator. One binary, so the
//! server crate links once.

mod abuse;
mod canary;
mod configure;
mod console;
mod contract;
mod disabled;
mod durability;
mod failures;
mod faults;
mod flows;
mod hand_made;
mod hardening;
mod install;
mod instances;
mod native;
mod operator;
mod partner;
mod project_access;
mod sso;
mod support;
mod vendor;
mod vendor_calls;
mod vercel_shapes;
mod webhooks;
