//! Vercel's native integrations (the Marketplace protocol), where Vercel calls the vendor's
//! Partner API with signed tokens (verified by `vercel::oidc`): the Partner API's door
//! (`partner`), installations, the billing plans a resource may take (`plans`), and the
//! resources Vercel provisions, onto the provider contract (`resources`, `metadata`); and single
//! sign-on from Vercel's dashboard into the installation's page (`sso`); what the vendor tells
//! Tether for Vercel (`vendor_calls`), and Tether's calls to Vercel (`vercel_jobs`).

pub mod actions;
pub mod installations;
pub mod metadata;
pub mod partner;
pub mod plans;
pub mod resources;
pub mod sso;
pub mod vendor_calls;
pub mod vercel_jobs;
