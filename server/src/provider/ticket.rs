//! The single sign-on ticket Tether gives a vendor's sign-in page (the contract's "Single
//! sign-on"): whom Vercel signed in, as base64url JSON, signed with the provider keys over
//! `sso.{ticket}` like account linking's tickets, good once for [`LIFETIME_MS`]. Tether's
//! sign-in and `provider-check` make them the same way.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Serialize;
use url::Url;

use crate::signing::{self, SigningKey};

/// How long a vendor may take to use a ticket: a redirect, not a sign-in form.
pub const LIFETIME_MS: i64 = 60 * 1000;

#[derive(Serialize)]
pub struct SsoTicket<'a> {
    pub installation_id: &'a str,
    /// The vendor account the installation acts for, as on every call.
    pub account: &'a str,
    /// Vercel's user, and their role in the team: `ADMIN`, or `USER` (read only).
    pub user_id: &'a str,
    pub role: &'a str,
    /// The vendor's id of the resource the user opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// A page of the vendor's site Vercel's link asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    pub nonce: String,
    pub expires_at: i64,
}

impl SsoTicket<'_> {
    /// 32 hex characters, never repeated.
    pub fn new_nonce() -> String {
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        hex::encode(nonce)
    }

    /// The ticket as the `sso` parameter carries it.
    pub fn encode(&self) -> String {
        // Strings and a number only: serialising cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The sign-in page's address with this ticket, signed with the newest key.
    pub fn link(&self, page: &Url, keys: &[SigningKey]) -> Url {
        let ticket = self.encode();
        link(page, &ticket, &sign(keys, &ticket))
    }
}

/// `v1,` + base64(HMAC-SHA256(key, `sso.{ticket}`)).
pub fn sign(keys: &[SigningKey], ticket: &str) -> String {
    signing::sign_content(keys, &format!("sso.{ticket}"))
}

/// The sign-in page's address with a ticket and a signature, as given.
pub fn link(page: &Url, ticket: &str, signature: &str) -> Url {
    let mut target = page.clone();
    target.query_pairs_mut().append_pair("sso", ticket).append_pair("signature", signature);
    target
}
