//! Vercel's API, typed: the code exchange, and the calls an installation's token may make.
//! Base URLs come from configuration, so the same client talks to Vercel or to the simulator.
//!
//! Outbound rules, for every call: redirects are never followed (a 307 must not carry the client
//! secret or a token anywhere else), answers are read up to a size cap, only 429, 5xx and
//! transport failures are retried, and a caller with a deadline never waits past it.

pub mod account;
pub mod configuration;
pub mod env;
pub mod oauth;
pub mod oidc;
mod pages;
pub mod projects;
pub mod scopes;
pub mod sso;

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{header::HeaderMap, Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};
use url::Url;

use crate::secret::{AccessToken, ClientSecret};
use scopes::Scope;

const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const ATTEMPTS: u32 = 4;
/// A caller without a deadline reports a 429 whose reset lies further ahead than this.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(65);
/// How long a request handler may wait for Vercel in all: past it, the user gets a "still
/// working, try again" answer instead of a frozen popup.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(10);
/// The most Tether reads of one answer. A page of 100 full project objects is well under this.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// Error bodies only need their code and message.
const MAX_ERROR_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum VercelError {
    #[error("Vercel could not be reached: {0}")]
    Unreachable(String),
    #[error("Vercel answered {status}: {code}: {message}")]
    Api { status: u16, code: String, message: String },
    #[error("the installation is disabled at Vercel")]
    Disabled,
    #[error("the code from Vercel is invalid, used or expired")]
    InvalidGrant,
    #[error("Vercel refused the redirect_uri Tether sent ({sent}): it must equal the Redirect URL registered for the integration")]
    RedirectMismatch { sent: String },
    #[error("Vercel refused the client id or client secret")]
    InvalidClient,
    #[error("Vercel no longer accepts this installation's token")]
    Unauthorized,
    #[error("Vercel refused the call (403): the integration lacks the `{}` scope", .0.token())]
    MissingScope(&'static Scope),
    #[error("Vercel's rate limit stays exhausted")]
    RateLimited,
    #[error("Vercel asked to wait {} s, longer than a request may", .retry_after.as_secs())]
    Busy { retry_after: Duration },
    #[error("Vercel answered {0} with a redirect, which Tether never follows")]
    Redirected(u16),
    #[error("Vercel's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("{endpoint} kept returning pages already seen: its continuation cursor had no effect")]
    Pagination { endpoint: &'static str },
    #[error("unexpected answer from Vercel: {0}")]
    Decode(String),
}

/// The application-level client: credentials and endpoints, shared by every installation.
#[derive(Clone)]
pub struct Vercel {
    http: reqwest::Client,
    api: Url,
    client_id: String,
    client_secret: ClientSecret,
    redirect_url: String,
}

impl Vercel {
    pub fn new(api: Url, client_id: String, client_secret: ClientSecret, redirect_url: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with static settings builds");
        Self { http, api, client_id, client_secret, redirect_url }
    }

    /// Calls on behalf of one installation; `teamId` goes on every call for a team.
    pub fn as_installation(&self, token: AccessToken, team_id: Option<String>) -> Installation {
        Installation { vercel: self.clone(), token, team_id, deadline: None }
    }

    /// The API origin with these path segments, each percent-encoded: an id can never add a
    /// path level or a query.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear().extend(segments);
        }
        url
    }
}

#[derive(Clone)]
pub struct Installation {
    vercel: Vercel,
    token: AccessToken,
    team_id: Option<String>,
    /// Past this instant no call starts and no retry waits.
    deadline: Option<Instant>,
}

fn jitter(base: Duration) -> Duration {
    base + Duration::from_millis(rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2 + 1))
}

impl Installation {
    /// The same installation for a request handler: it gives up, with `Busy`, rather than wait
    /// past `budget` in all.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.deadline = Some(Instant::now() + budget);
        self
    }

    /// The time one attempt may take: the call timeout, cut to what the budget has left.
    fn attempt_timeout(&self) -> Result<(Duration, bool), VercelError> {
        let Some(deadline) = self.deadline else { return Ok((CALL_TIMEOUT, false)) };
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(100) {
            return Err(VercelError::Busy { retry_after: Duration::from_secs(2) });
        }
        Ok((left.min(CALL_TIMEOUT), left < CALL_TIMEOUT))
    }

    /// Sleeps before a retry, unless that would overrun the deadline.
    async fn wait(&self, pause: Duration) -> Result<(), VercelError> {
        if self.deadline.is_some_and(|deadline| Instant::now() + pause > deadline) {
            return Err(VercelError::Busy { retry_after: pause.max(Duration::from_secs(1)) });
        }
        tokio::time::sleep(pause).await;
        Ok(())
    }

    /// Sends one call with retries: 429 waits for `Retry-After` or `X-RateLimit-Reset`, 5xx and
    /// transport errors back off with jitter, everything else returns at once. No sleep follows
    /// the last attempt.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, VercelError> {
        let mut url = self.vercel.url(segments);
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
            if let Some(team) = &self.team_id {
                pairs.append_pair("teamId", team);
            }
        }
        let path = url.path().to_owned();
        let endpoint = crate::telemetry::vercel_endpoint(method.as_str(), &path);
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (timeout, cut_by_budget) = self.attempt_timeout()?;
            let mut request =
                self.vercel.http.request(method.clone(), url.clone()).bearer_auth(self.token.expose()).timeout(timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            let (error, pause) = match crate::telemetry::send_to_vercel(&endpoint, request).await {
                Err(error) if error.is_timeout() && cut_by_budget => {
                    tracing::warn!(path, attempt, "Vercel call ran out of the request's budget");
                    return Err(VercelError::Busy { retry_after: Duration::from_secs(2) });
                }
                Err(error) => {
                    let error = error.without_url().to_string();
                    tracing::warn!(path, attempt, %error, "Vercel call failed");
                    (VercelError::Unreachable(error), jitter(backoff))
                }
                Ok(response) => match self.read_answer(response, &method, &path, attempt, backoff).await {
                    Attempt::Done(answer) => return answer,
                    Attempt::Retry(error, pause) => (error, pause),
                },
            };
            if attempt == ATTEMPTS {
                return Err(error);
            }
            let reason = match error {
                VercelError::RateLimited => "rate_limited",
                VercelError::Unreachable(_) => "unreachable",
                _ => "server_error",
            };
            self.wait(pause).await?;
            crate::telemetry::vercel_retry(&endpoint, reason, pause);
            backoff *= 2;
        }
    }

    /// One answer: its value, its error, or an error worth another attempt after a pause (a
    /// rate limit, a server error).
    async fn read_answer<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
        method: &Method,
        path: &str,
        attempt: u32,
        backoff: Duration,
    ) -> Attempt<T> {
        let status = response.status();
        if status.is_success() {
            let decoded = read_capped(response, MAX_ANSWER_BYTES).await.and_then(|bytes| {
                // 204 and other empty answers read as `null`, which `IgnoredAny` and `Option` accept.
                let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
                Ok(serde_json::from_slice(body)?)
            });
            return Attempt::Done(decoded);
        }
        if status.is_redirection() {
            tracing::warn!(path, status = status.as_u16(), "Vercel answered with a redirect; not followed");
            return Attempt::Done(Err(VercelError::Redirected(status.as_u16())));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = rate_limit_wait(response.headers());
            tracing::warn!(path, attempt, wait_ms = wait.as_millis() as u64, "Vercel rate limit hit");
            if self.deadline.is_none() && wait > MAX_RATE_LIMIT_WAIT {
                return Attempt::Done(Err(VercelError::RateLimited));
            }
            return Attempt::Retry(VercelError::RateLimited, wait);
        }
        if status.is_server_error() {
            let pause = retry_after(response.headers()).unwrap_or_else(|| jitter(backoff));
            let error = classify(status, &read_error(response).await, method, path);
            tracing::warn!(path, attempt, %error, "Vercel server error");
            return Attempt::Retry(error, pause);
        }
        Attempt::Done(Err(classify(status, &read_error(response).await, method, path)))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str], query: &[(&str, String)]) -> Result<T, VercelError> {
        self.call(Method::GET, segments, query, None).await
    }
}

/// An answer that is not the JSON expected (or a body that would not serialize).
impl From<serde_json::Error> for VercelError {
    fn from(error: serde_json::Error) -> Self {
        VercelError::Decode(error.to_string())
    }
}

/// No answer: refused, cut off or timed out. The URL is left out: it may carry a team id.
impl From<reqwest::Error> for VercelError {
    fn from(error: reqwest::Error) -> Self {
        VercelError::Unreachable(error.without_url().to_string())
    }
}

/// What one attempt at a call came to.
enum Attempt<T> {
    Done(Result<T, VercelError>),
    /// Worth another attempt, after this pause.
    Retry(VercelError, Duration),
}

/// Reads a body, refusing one larger than `cap` without buffering it.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, VercelError> {
    if response.content_length().is_some_and(|length| length > cap as u64) {
        return Err(VercelError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(VercelError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_error(response: reqwest::Response) -> Vec<u8> {
    read_capped(response, MAX_ERROR_BYTES).await.unwrap_or_default()
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// How long a 429 asks to wait: the later of `Retry-After` and `X-RateLimit-Reset` (epoch
/// seconds), with a little jitter so waiters spread out; a second when neither says.
fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let reset = headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|reset| Duration::from_secs(reset.saturating_sub(now).max(0) as u64));
    match reset.into_iter().chain(retry_after(headers)).max() {
        Some(wait) if !wait.is_zero() => jitter(wait),
        _ => jitter(Duration::from_secs(1)),
    }
}

/// An error body in either shape Vercel uses: OAuth's `{"error":"…","error_description":"…"}`
/// or the REST API's `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    /// The REST shape's `invalidToken: true`: the token itself is refused.
    pub invalid_token: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    OAuth(String),
    Rest {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "invalidToken")]
        invalid_token: Option<bool>,
    },
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: Option<ErrorField>,
    #[serde(default)]
    error_description: Option<String>,
}

impl ErrorInfo {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) else { return Self::default() };
        match envelope.error {
            Some(ErrorField::OAuth(code)) => {
                Self { code, message: envelope.error_description.unwrap_or_default(), invalid_token: false }
            }
            Some(ErrorField::Rest { code, message, invalid_token }) => Self {
                code: code.unwrap_or_default(),
                message: message.or(envelope.error_description).unwrap_or_default(),
                invalid_token: invalid_token.unwrap_or(false),
            },
            None => Self { message: envelope.error_description.unwrap_or_default(), ..Self::default() },
        }
    }
}

/// What a refused call means for the user: disabled installation, a dead token, a missing scope
/// (named from the endpoint, since Vercel's 403 does not say which), or Vercel's own words.
fn classify(status: StatusCode, body: &[u8], method: &Method, path: &str) -> VercelError {
    let info = ErrorInfo::parse(body);
    if info.code == "integration_configuration_disabled" {
        return VercelError::Disabled;
    }
    if status == StatusCode::UNAUTHORIZED || info.invalid_token {
        return VercelError::Unauthorized;
    }
    if status == StatusCode::FORBIDDEN {
        if let Some(scope) = scopes::for_call(method, path) {
            tracing::warn!(path, code = %info.code, message = %info.message, scope = scope.token(), "Vercel refused a call");
            return VercelError::MissingScope(scope);
        }
    }
    VercelError::Api {
        status: status.as_u16(),
        code: if info.code.is_empty() { "unknown".into() } else { info.code },
        message: if info.message.is_empty() { status.to_string() } else { info.message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn both_error_shapes_parse() {
        let oauth = ErrorInfo::parse(br#"{"error":"invalid_grant","error_description":"Invalid grant"}"#);
        assert_eq!((oauth.code.as_str(), oauth.message.as_str()), ("invalid_grant", "Invalid grant"));
        let rest =
            ErrorInfo::parse(br#"{"error":{"code":"forbidden","message":"Not authorized","invalidToken":true}}"#);
        assert_eq!(
            (rest.code.as_str(), rest.message.as_str(), rest.invalid_token),
            ("forbidden", "Not authorized", true)
        );
        assert_eq!(ErrorInfo::parse(b"<html>bad gateway</html>"), ErrorInfo::default());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        headers.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn rate_limit_wait_takes_the_later_of_both_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("5"));
        let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 2;
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
        let wait = rate_limit_wait(&headers);
        assert!(wait >= Duration::from_secs(5), "{wait:?}");
    }

    #[test]
    fn ids_cannot_add_path_levels() {
        let vercel = Vercel::new(
            Url::parse("https://api.vercel.com").unwrap(),
            "id".into(),
            ClientSecret::new("s"),
            "https://t.example/callback".into(),
        );
        let url = vercel.url(&["v9", "projects", "../v2/user?x=1", "env"]);
        assert_eq!(url.path(), "/v9/projects/..%2Fv2%2Fuser%3Fx=1/env");
    }
}
