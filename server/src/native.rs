//! Vercel's native integrations (the Marketplace protocol), where Vercel calls the vendor's
//! Partner API with signed tokens. So far: verifying those tokens (`oidc`).

pub mod oidc;
