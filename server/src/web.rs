//! What every response shares: page rendering, security headers, the cross-site check on
//! state-changing requests, and the session cookie.

use app::{
    model::{Action, ErrorView},
    pages::{shell, Page},
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use leptos::{nonce::Nonce, prelude::provide_context};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// Renders a page with a fresh CSP nonce: only scripts Leptos marks with it run inline.
pub async fn render(state: &AppState, status: StatusCode, page: Page) -> Response {
    let options = state.leptos.clone();
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    let context_nonce = nonce.clone();
    let handler = leptos_axum::render_app_async_with_context(
        move || provide_context(Nonce::from_value(context_nonce.clone())),
        move || shell(options.clone(), page.clone()),
    );
    let mut response = handler(Request::new(Body::empty())).await;
    *response.status_mut() = status;
    // form-action must admit Vercel's origin: the plain form's answer redirects there.
    let next_origin = state.settings.vercel.next_origin.origin().ascii_serialization();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; form-action 'self' {next_origin}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

pub fn error_view(status: StatusCode, title: &str, message: impl Into<String>, actions: Vec<Action>) -> Page {
    Page::Error(ErrorView { status: status.as_u16(), title: title.into(), message: message.into(), actions })
}

pub fn action(label: &str, href: impl Into<String>) -> Action {
    Action { label: label.into(), href: href.into() }
}

/// Headers on every response. The popup must not set a Cross-Origin-Opener-Policy other than
/// `unsafe-none`, or Vercel's dashboard loses its handle on the popup. Served over https, the
/// browser is told to never come back over plain http (HSTS).
pub async fn security_headers(https: bool, request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/pkg/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages set a full policy with their nonce; everything else gets the strict minimum.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("unsafe-none"));
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000"));
    }
    response
}

/// Refuses state-changing requests that a browser marks as cross-site, before any handler runs.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if !is_same_origin(request.headers()) {
        tracing::warn!(path = request.uri().path(), "refused a cross-site request");
        return (StatusCode::FORBIDDEN, "Cross-site requests are not accepted.").into_response();
    }
    next.run(request).await
}

fn is_same_origin(headers: &HeaderMap) -> bool {
    let get = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => {
            origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
        }
        (Some(_), None) => false,
        // No browser marker at all: not a browser, so it carries no victim's cookies.
        (None, _) => true,
    }
}

pub const SESSION_LIFETIME_MS: i64 = 12 * 60 * 60 * 1000;

pub fn session_cookie_name(secure: bool) -> &'static str {
    // The `__Host-` prefix needs `Secure`, which browsers only keep over https.
    if secure {
        "__Host-tether_session"
    } else {
        "tether_session"
    }
}

/// A new session id: the cookie value and the hash the database keeps.
pub fn new_session_id() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let id = hex::encode(bytes);
    let hash = hash_session_id(&id);
    (id, hash)
}

pub fn hash_session_id(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

pub fn session_cookie(secure: bool, id: &str) -> String {
    let name = session_cookie_name(secure);
    let max_age = SESSION_LIFETIME_MS / 1000;
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The hashed session id from the request's cookies, if any.
pub fn session_hash(headers: &HeaderMap, secure: bool) -> Option<String> {
    cookie(headers, session_cookie_name(secure))
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(hash_session_id)
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    let page = error_view(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address.",
        vec![action("Go to the start page", "/")],
    );
    render(&state, StatusCode::NOT_FOUND, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn cross_site_markers_are_refused() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(is_same_origin(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")])));
        assert!(!is_same_origin(&headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:3000")])));
        assert!(!is_same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")])));
    }

    #[test]
    fn session_cookie_round_trips_and_hides_the_id() {
        let (id, hash) = new_session_id();
        let cookie = session_cookie(true, &id);
        assert!(cookie.starts_with("__Host-tether_session="));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"));
        let value = cookie.split(';').next().unwrap().to_owned();
        let mut map = HeaderMap::new();
        map.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {value}")).unwrap());
        assert_eq!(session_hash(&map, true), Some(hash.clone()));
        assert_ne!(hash, id);
        assert_eq!(session_hash(&map, false), None);
    }
}
