//! Vercel's native integrations (the Marketplace protocol), where Vercel calls the vendor's
//! Partner API with signed tokens. So far: verifying those tokens (`oidc`), the Partner API's
//! door (`partner`) and the billing plans a resource may take (`plans`).

pub mod oidc;
pub mod partner;
pub mod plans;
