//! Single sign-on from Vercel, through Tether (the contract's "Single sign-on"): Tether sends
//! the browser to the sign-in page with `sso`, a ticket saying whom Vercel signed in, and its
//! `signature`. The vendor checks the signature with its shared keys, the expiry, and that the
//! ticket's nonce was never used, then signs the user in to the ticket's account and shows the
//! resource they opened. Anything else signs nobody in.

use axum::{
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;

use crate::{
    html::escape,
    signature::content_signed,
    vendor::{now_ms, random, Session},
    Vendor,
};

/// What the ticket says, as the contract lists it.
#[derive(Deserialize)]
struct Ticket {
    installation_id: String,
    account: String,
    user_id: String,
    role: String,
    #[serde(default)]
    resource_id: Option<String>,
    nonce: String,
    expires_at: i64,
}

fn refused(status: StatusCode, why: &str) -> Response {
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reference DB</title><link rel="icon" href="data:,"></head>
<body><main><h1>Not signed in</h1><p data-testid="refused">{}</p></main></body></html>"#,
        escape(why)
    );
    (status, Html(page)).into_response()
}

/// `GET /link?sso=…&signature=…`.
pub(crate) async fn sign_in(vendor: &Vendor, ticket: &str, signature: &str) -> Response {
    // `v1,` + base64(HMAC-SHA256(key, `sso.{ticket}`)) under any of our keys.
    if !content_signed(&vendor.0.keys, &format!("sso.{ticket}"), signature) {
        return refused(StatusCode::FORBIDDEN, "This sign-in was not signed by Tether.");
    }
    let Some(ticket) =
        URL_SAFE_NO_PAD.decode(ticket).ok().and_then(|json| serde_json::from_slice::<Ticket>(&json).ok())
    else {
        return refused(StatusCode::BAD_REQUEST, "This sign-in is malformed.");
    };
    if ticket.expires_at < now_ms() {
        return refused(StatusCode::BAD_REQUEST, "This sign-in has expired: open it again from Vercel.");
    }
    // Single use: a ticket seen in a log or a history cannot sign anyone in again.
    let fresh = vendor.knobs(|k| k.sso_nonces.insert(ticket.nonce.clone()));
    if !fresh && !vendor.flawed(crate::Flaw::ReusesSsoTickets) {
        return refused(StatusCode::BAD_REQUEST, "This sign-in was used already: open it again from Vercel.");
    }
    let resource = match &ticket.resource_id {
        Some(id) => vendor.resource_name(&ticket.account, id).await,
        None => None,
    };
    let admin = ticket.role == "ADMIN";
    let role = if admin { "admin" } else { "viewer" };
    // An admin may change the database here; the vendor then tells Tether, for Vercel to show.
    let actions = match (&resource, &ticket.resource_id) {
        (Some(_), Some(id)) if admin => crate::tether::console_forms(id),
        _ => String::new(),
    };
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Reference DB</title><link rel="icon" href="data:,"></head>
<body><main><h1>Reference DB</h1>
<p data-testid="signed-in" data-account="{account}" data-role="{role}">Signed in from Vercel as {user} ({role}) to account {account}, installation {installation}.</p>
{resource}{actions}</main></body></html>"#,
        account = escape(&ticket.account),
        user = escape(&ticket.user_id),
        installation = escape(&ticket.installation_id),
        resource = resource
            .map(|name| format!(r#"<p data-testid="resource">Resource: {}</p>"#, escape(&name)))
            .unwrap_or_default(),
    );
    // A demo session: a real vendor keeps it server-side, bound to the account and the role.
    let session = random("", 16);
    let kept = Session { account: ticket.account.clone(), installation_id: ticket.installation_id.clone(), admin };
    vendor.knobs(|k| k.sessions.insert(session.clone(), kept));
    let cookie = format!("refdb_session={session}; Path=/; HttpOnly; SameSite=Lax");
    (StatusCode::OK, [(header::SET_COOKIE, cookie)], Html(page)).into_response()
}
