//! Account linking: the vendor's own sign-in page, where Tether sends the user, and the signed
//! answer it sends back.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{error::ApiError, html::escape, signature::sign_content, Vendor, LINK_PATH};

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    return_to: String,
    /// Single sign-on from Vercel instead: a ticket saying whom Vercel signed in.
    #[serde(default)]
    sso: String,
    #[serde(default)]
    signature: String,
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    account: String,
}

/// Only Tether's own return address: an assertion is never sent anywhere else. A real vendor
/// pins the full URL of its Tether deployment.
fn tether_return(return_to: &str) -> bool {
    (return_to.starts_with("https://") || return_to.starts_with("http://127.0.0.1:"))
        && return_to.ends_with("/install/account")
}

/// A demo sign-in: the user names their account (a real vendor signs them in properly). With
/// `sso`, Vercel signed the user in already.
pub(crate) async fn sign_in_page(
    State(vendor): State<Vendor>,
    axum::extract::Query(query): axum::extract::Query<LinkQuery>,
) -> Response {
    if !query.sso.is_empty() {
        return crate::sso::sign_in(&vendor, &query.sso, &query.signature).await;
    }
    if query.ticket.is_empty() || !tether_return(&query.return_to) {
        return (StatusCode::BAD_REQUEST, "This sign-in link is incomplete.").into_response();
    }
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to Reference DB</title><link rel="icon" href="data:,"></head>
<body><main><h1>Sign in to Reference DB</h1>
<form method="post" action="{LINK_PATH}">
<input type="hidden" name="ticket" value="{ticket}"><input type="hidden" name="return_to" value="{return_to}">
<label for="account">Your Reference DB account</label> <input id="account" name="account" required pattern="[a-z0-9\-]{{1,40}}">
<button type="submit">Sign in</button></form></main></body></html>"#,
        ticket = escape(&query.ticket),
        return_to = escape(&query.return_to),
    );
    axum::response::Html(page).into_response()
}

/// Signs the account id with the shared secret, over `{ticket}.{account}`, and sends the user
/// back to Tether.
pub(crate) async fn sign_in(
    State(vendor): State<Vendor>,
    axum::extract::Form(form): axum::extract::Form<LinkForm>,
) -> Response {
    let name: String =
        form.account.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect();
    if name.is_empty() || form.ticket.is_empty() || !tether_return(&form.return_to) {
        return (StatusCode::BAD_REQUEST, "Name your account to sign in.").into_response();
    }
    let account = format!("acct_{}", name.to_ascii_lowercase());
    let signature = vendor.0.keys.first().and_then(|key| sign_content(key, &format!("{}.{account}", form.ticket)));
    let Some(signature) = signature else {
        return ApiError::Internal("no usable secret configured".into()).into_response();
    };
    let query = [("ticket", form.ticket.as_str()), ("account", account.as_str()), ("signature", signature.as_str())];
    let encoded: String = query.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&");
    let location = format!("{}?{encoded}", form.return_to);
    (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, location)]).into_response()
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
