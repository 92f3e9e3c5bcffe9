//! What every response shares: page rendering, security headers, the cross-site check on
//! state-changing requests, and the session cookie.

use std::sync::Arc;

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
use hydration_context::SsrSharedContext;
use leptos::{
    nonce::Nonce,
    prelude::{provide_context, Owner, RenderHtml},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// Renders a page with a fresh CSP nonce: only scripts Leptos marks with it run inline.
pub async fn render(state: &AppState, status: StatusCode, page: Page) -> Response {
    let mut rendered = render_html(state, page);
    let html = std::mem::take(&mut rendered.html);
    rendered.respond(status, html)
}

/// A page's HTML, and the policy that admits its scripts.
pub struct Rendered {
    pub html: String,
    policy: Option<HeaderValue>,
}

/// Renders the page to a string in one pass. Pages need nothing asynchronous (the handler
/// loaded everything first), so Leptos's streaming renderer is not used: it also appended
/// scripts for resources and chunks that no Tether page has, to every page.
pub fn render_html(state: &AppState, page: Page) -> Rendered {
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    // Islands render through the shared context, as under Leptos's own renderer.
    let owner = Owner::new_root(Some(Arc::new(SsrSharedContext::new())));
    let html = owner.with(|| {
        provide_context(Nonce::from_value(nonce.clone()));
        shell(state.leptos.clone(), page, state.stylesheet.clone()).to_html()
    });
    // form-action must admit Vercel's origin: the plain form's answer redirects there.
    let next_origin = state.settings.vercel.next_origin.origin().ascii_serialization();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; form-action 'self' {next_origin}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    Rendered { html, policy: HeaderValue::from_str(&policy).ok() }
}

impl Rendered {
    /// The page's response, with `body` (the page, or the page compressed).
    pub fn respond(&self, status: StatusCode, body: impl Into<Body>) -> Response {
        let mut response = (status, body.into()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        if let Some(policy) = &self.policy {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
        }
        response
    }
}

pub fn action(label: &str, href: impl Into<String>) -> Action {
    Action { label: label.into(), href: href.into() }
}

/// A failure's page, with its status (and `Retry-After` when Vercel asked to wait). `next` is
/// Vercel's way back for this popup when known; `retry` is where "Try again" leads.
pub async fn failure(state: &AppState, failure: &Failure, next: Option<&str>, retry: Option<String>) -> Response {
    let ways = Ways { next, dashboard: state.settings.vercel.dashboard_url.as_str(), retry };
    let status = failure.status();
    let mut response = render(state, status, failure.page(&ways)).await;
    if let Failure::RateLimited { wait_secs } = failure {
        response.headers_mut().insert(header::RETRY_AFTER, (*wait_secs).into());
    }
    response
}

/// The page for an error on one installation's page (install, last step, Configure). A
/// `NotYours` is told as a removal only to the browser whose session the installation had;
/// everyone else gets the same answer for known and unknown ids. `configure` picks the
/// sign-in way on for the Configure page.
pub async fn installation_failure(
    state: &AppState,
    headers: &HeaderMap,
    configuration_id: &str,
    error: app::AppError,
    configure: bool,
    next: Option<&str>,
    retry: String,
) -> Response {
    state.note_error(configuration_id, &error).await;
    let found = match error {
        app::AppError::NotYours if removed_here(state, headers, configuration_id).await => Failure::Removed,
        app::AppError::NotYours => Failure::NotYours { configure },
        error => Failure::from_app_error(error, state.provider.name()),
    };
    // Each failure's page offers "Try again" only where a retry may help.
    failure(state, &found, next, Some(retry)).await
}

/// Whether this browser's session was bound to the installation, now removed.
async fn removed_here(state: &AppState, headers: &HeaderMap, configuration_id: &str) -> bool {
    let Ok(configuration_id) = crate::params::ConfigurationId::parse(configuration_id) else { return false };
    let Some(hash) = session_hash(headers, state.settings.secure_cookies()) else { return false };
    matches!(state.store.removed_for_session(&hash, &configuration_id).await, Ok(Some(_)))
}

/// What the popup says when Vercel would not name the scope: which scope would.
pub fn scope_note(scope: &crate::vercel::scopes::Scope) -> String {
    format!(
        "Vercel did not share this account's name with the integration (it lacks the `{}` scope), \
         so its id is shown instead. Everything else works.",
        scope.token()
    )
}

pub mod failure;

pub use failure::{Failure, SsoRefusal, Ways};

/// Far above any page Tether renders (250 projects make about 110 KB, 1,000 about 450 KB): a
/// page that does not fit is a fault, answered with 500.
const PAGE_COMPRESS_LIMIT: usize = 4 * 1024 * 1024;

/// Compresses each HTML page whole, with brotli, before the general compression layer sees it:
/// that layer gives every response a 4 MB window (see [`compress`]). Pages that come compressed
/// already (the install page joins its parts itself) pass through.
pub async fn compress_pages(request: Request, next: Next) -> Response {
    let accepts_brotli = accepts_brotli(request.headers());
    let response = next.run(request).await;
    let is_page = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !accepts_brotli || !is_page || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let page = match page_bytes(body).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    match crate::html::compress::compress(&page) {
        Ok(compressed) => brotli_encoded(Response::from_parts(parts, Body::from(compressed))),
        Err(error) => {
            tracing::error!(%error, "brotli failed on a page; sending it uncompressed");
            Response::from_parts(parts, Body::from(page))
        }
    }
}

/// A rendered page's bytes, or the 500 to answer when they cannot be read.
pub async fn page_bytes(body: Body) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, PAGE_COMPRESS_LIMIT).await.map_err(|error| {
        tracing::error!(%error, "a rendered page could not be read");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// Marks a response whose body is a brotli stream as such.
pub fn brotli_encoded(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.remove(header::CONTENT_LENGTH);
    response
}

pub fn accepts_brotli(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|accepted| accepts(accepted, "br"))
}

/// Whether an Accept-Encoding value admits `coding` (listed, and not with `q=0`).
fn accepts(accepted: &str, coding: &str) -> bool {
    accepted.split(',').any(|item| {
        let mut fields = item.split(';').map(str::trim);
        let named = fields.next().is_some_and(|name| name.eq_ignore_ascii_case(coding));
        let refused = fields.any(|f| f.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0)));
        named && !refused
    })
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

/// Answers of server functions, as a client can rely on them. Leptos answers every failure 500,
/// and a failed plain form post with a redirect to the request's `Referer`, which any client
/// can set. Here a failure gets its error's own status (a client's mistake is a 4xx, not a 500
/// in the operator's error log), and no answer sends a browser off Tether's origin: `Referer` is
/// dropped before Leptos sees it (Tether's pages send none, under `Referrer-Policy:
/// no-referrer`); a redirect the server function chose, always to one of Tether's own pages,
/// stands; a failed plain form otherwise gets its failure page.
pub async fn server_fn_answers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    request.headers_mut().remove(header::REFERER);
    let plain_form = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
    let own = location.is_none_or(is_own_path);
    let failed = response.headers().contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER);
    if !failed {
        // Not reachable without a Referer, and never followed if it were.
        return if own { response } else { (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response() };
    }
    // The function chose the page that says what failed (`/` is Leptos's own fallback).
    if plain_form && location.is_some_and(|to| is_own_path(to) && to != "/") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BODY).await.unwrap_or_default();
    let error = serde_json::from_slice::<app::AppError>(&bytes).unwrap_or(app::AppError::Internal);
    if plain_form {
        return failure(&state, &Failure::from_app_error(error, state.provider.name()), None, None).await;
    }
    parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Response::from_parts(parts, Body::from(bytes))
}

/// A path on this origin: `/…`, but not `//host` or `/\host`, which browsers read as another host.
fn is_own_path(location: &str) -> bool {
    location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\")
}

/// The largest request body any route takes (a server function's form, a webhook).
pub const MAX_REQUEST_BODY: usize = 256 * 1024;

/// Caps every request body, however it arrives, before anything reads it: a declared length
/// over the cap is refused unread, and a body without one (chunked) is read up to the cap and
/// refused past it. Either way the client hears 413, never a 500 from a reader that gave up
/// halfway. Routes with smaller caps keep their own.
pub async fn cap_body(request: Request, next: Next) -> Response {
    let too_large = || {
        (StatusCode::PAYLOAD_TOO_LARGE, format!("The request body is larger than {MAX_REQUEST_BODY} bytes."))
            .into_response()
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY as u64) {
        return too_large();
    }
    if declared.is_some() || axum::body::HttpBody::size_hint(request.body()).exact() == Some(0) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let mut chunks = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut chunks).await {
        let Ok(chunk) = chunk else {
            return (StatusCode::BAD_REQUEST, "The request body could not be read.").into_response();
        };
        if bytes.len() + chunk.len() > MAX_REQUEST_BODY {
            return too_large();
        }
        bytes.extend_from_slice(&chunk);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// What a state-changing request must show to be taken as the popup's own.
#[derive(Clone)]
pub struct SameOrigin {
    /// The public origin, scheme included: `https://tether.example.com`.
    pub origin: String,
    pub secure_cookies: bool,
}

/// Refuses state-changing requests that are not the popup's own, before any handler runs.
/// `Sec-Fetch-Site` must say same-origin; without it, `Origin` must be Tether's public origin
/// exactly (scheme included); a browser that sends neither must post the page's form token.
/// Vercel's webhooks are exempt: their signature is their proof; so are the operator's
/// endpoints, which take a bearer token and no cookie, so no other site can act with them.
pub async fn same_origin_only(State(policy): State<SameOrigin>, request: Request, next: Next) -> Response {
    let exempt = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || request.uri().path() == "/webhooks/vercel"
        // Vercel's servers call the Partner API with a bearer token and no cookie: no browser's
        // ambient credentials to misuse.
        || request.uri().path().starts_with("/v1/")
        // The vendor's server signs its calls; no cookie speaks for it either.
        || request.uri().path().starts_with("/provider/v1/")
        || request.uri().path().starts_with("/operator/");
    if exempt {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let request = match judge(&policy, request).await {
        Ok(request) => request,
        Err(why) => {
            tracing::warn!(path, why, security_event = "cross_site_refused", "refused a state-changing request");
            return (StatusCode::FORBIDDEN, "Cross-site requests are not accepted.").into_response();
        }
    };
    next.run(request).await
}

async fn judge(policy: &SameOrigin, request: Request) -> Result<Request, &'static str> {
    let headers = request.headers();
    let get = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return if site == "same-origin" || site == "none" { Ok(request) } else { Err("sec-fetch-site") };
    }
    if let Some(origin) = get("origin") {
        return if origin.eq_ignore_ascii_case(&policy.origin) { Ok(request) } else { Err("origin") };
    }
    // Neither header: only a form that carries this session's token.
    let expected = session_id(headers, policy.secure_cookies).map(form_token).ok_or("no session")?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BODY).await.map_err(|_| "body")?;
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == app::model::FORM_TOKEN_FIELD)
        .map(|(_, value)| value.into_owned())
        .ok_or("no form token")?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), expected.as_bytes())) {
        return Err("form token");
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The form token of a session: derived from its id (which only the cookie holds), and unlike
/// the hash the database keeps, so a database leak does not yield it.
pub fn form_token(session_id: &str) -> String {
    hex::encode(Sha256::digest(format!("tether-form-token:{session_id}").as_bytes()))
}

/// The token for the session the request carries, or an empty one (the form then fails closed).
pub fn form_token_of(headers: &HeaderMap, secure: bool) -> String {
    session_id(headers, secure).map(form_token).unwrap_or_default()
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

/// The session id from the request's cookies, if it has the right shape.
fn session_id(headers: &HeaderMap, secure: bool) -> Option<&str> {
    cookie(headers, session_cookie_name(secure))
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The hashed session id from the request's cookies, if any.
pub fn session_hash(headers: &HeaderMap, secure: bool) -> Option<String> {
    session_id(headers, secure).map(hash_session_id)
}

/// Who sent a request, as far as Tether can tell: the hash of its session cookie, if it has a
/// well-formed one. Read once at the edge: below the handlers nothing sees a header.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    session_hash: Option<String>,
}

impl Caller {
    pub fn of(headers: &HeaderMap, secure_cookies: bool) -> Self {
        Self { session_hash: session_hash(headers, secure_cookies) }
    }

    pub fn session_hash(&self) -> Option<&str> {
        self.session_hash.as_deref()
    }
}

pub async fn not_found(State(state): State<AppState>) -> Response {
    failure(&state, &Failure::NotFound, None, None).await
}

/// The gallery of failure pages, in sandbox mode only: each page as a user would meet it, for
/// the screenshot, layout and accessibility tests. Outside the sandbox it does not exist.
pub async fn failure_gallery(State(state): State<AppState>, path: Option<axum::extract::Path<String>>) -> Response {
    if !state.settings.sandbox {
        return not_found(State(state)).await;
    }
    let samples = Failure::samples(state.provider.name());
    let next = format!("{}dashboard", state.settings.vercel.dashboard_url);
    match path {
        None => {
            let links = samples
                .iter()
                .map(|f| action(&f.sample_name(), format!("/sandbox/failures/{}", f.sample_name())))
                .collect();
            let view = ErrorView {
                kind: "gallery".into(),
                status: 200,
                title: "Failure pages".into(),
                message: "Every page a failure shows, with sample details.".into(),
                advice: "Open one to see it as a user would.".into(),
                actions: links,
            };
            render(&state, StatusCode::OK, Page::Error(view)).await
        }
        Some(axum::extract::Path(name)) => match samples.iter().find(|f| f.sample_name() == name) {
            Some(sample) => failure(&state, sample, Some(&next), Some("/".into())).await,
            None => not_found(State(state)).await,
        },
    }
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

    #[tokio::test]
    async fn only_the_popups_own_posts_pass() {
        let policy = SameOrigin { origin: "http://127.0.0.1:3000".into(), secure_cookies: false };
        let passes = |pairs: &'static [(&'static str, &'static str)]| {
            let policy = policy.clone();
            async move {
                let mut request = Request::new(Body::empty());
                *request.headers_mut() = headers(pairs);
                judge(&policy, request).await.is_ok()
            }
        };
        assert!(passes(&[("sec-fetch-site", "same-origin")]).await);
        assert!(!passes(&[("sec-fetch-site", "cross-site")]).await);
        assert!(!passes(&[("sec-fetch-site", "same-site")]).await);
        assert!(passes(&[("origin", "http://127.0.0.1:3000")]).await);
        assert!(!passes(&[("origin", "https://127.0.0.1:3000")]).await, "the scheme counts");
        assert!(!passes(&[("origin", "http://evil.example")]).await);
        assert!(!passes(&[("origin", "null")]).await);
        assert!(!passes(&[]).await, "no marker and no form token");
    }

    #[test]
    fn brotli_is_used_only_when_the_browser_admits_it() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("br;q=0.5, gzip", "br"));
        assert!(accepts("BR", "br"));
        assert!(!accepts("gzip, deflate", "br"));
        assert!(!accepts("br;q=0, gzip", "br"), "q=0 refuses it");
        assert!(!accepts("brotli, gzip", "br"), "a longer name is another coding");
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
