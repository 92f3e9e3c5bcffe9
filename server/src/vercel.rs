//! Vercel's API, typed: the code exchange, and the calls an installation's token may make.
//! Base URLs come from configuration, so the same client talks to Vercel or to the simulator.

pub mod env;
pub mod oauth;
pub mod projects;

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};
use url::Url;

use crate::secret::{AccessToken, ClientSecret};

const CALL_TIMEOUT: Duration = Duration::from_secs(15);
const ATTEMPTS: u32 = 4;
/// A 429 whose reset lies further ahead than this is reported instead of waited out.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(65);

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
    #[error("Vercel's rate limit stays exhausted")]
    RateLimited,
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
            .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with static settings builds");
        Self { http, api, client_id, client_secret, redirect_url }
    }

    /// Calls on behalf of one installation; `teamId` goes on every call for a team.
    pub fn as_installation(&self, token: AccessToken, team_id: Option<String>) -> Installation {
        Installation { vercel: self.clone(), token, team_id }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.api.clone();
        url.set_path(path);
        url
    }
}

#[derive(Clone)]
pub struct Installation {
    vercel: Vercel,
    token: AccessToken,
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

fn jitter(base: Duration) -> Duration {
    base + Duration::from_millis(rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2 + 1))
}

impl Installation {
    /// Sends one call with retries: 429 waits for `X-RateLimit-Reset`, 5xx and transport errors
    /// back off with jitter, other 4xx return at once.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, VercelError> {
        let mut url = self.vercel.url(path);
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
            if let Some(team) = &self.team_id {
                pairs.append_pair("teamId", team);
            }
        }
        let mut backoff = Duration::from_millis(200);
        let mut last_error = VercelError::Unreachable("no attempt made".into());
        for attempt in 1..=ATTEMPTS {
            let mut request = self.vercel.http.request(method.clone(), url.clone()).bearer_auth(self.token.expose());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    let error = error.without_url().to_string();
                    tracing::warn!(path, attempt, %error, "Vercel call failed");
                    last_error = VercelError::Unreachable(error);
                    tokio::time::sleep(jitter(backoff)).await;
                    backoff *= 2;
                    continue;
                }
            };
            let status = response.status();
            if status.is_success() {
                let bytes =
                    response.bytes().await.map_err(|e| VercelError::Unreachable(e.without_url().to_string()))?;
                // 204 and other empty answers read as `null`, which `IgnoredAny` and `Option` accept.
                let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
                return serde_json::from_slice(body).map_err(|e| VercelError::Decode(e.to_string()));
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = rate_limit_wait(response.headers());
                tracing::warn!(path, attempt, wait_ms = wait.as_millis() as u64, "Vercel rate limit hit");
                if wait > MAX_RATE_LIMIT_WAIT {
                    return Err(VercelError::RateLimited);
                }
                last_error = VercelError::RateLimited;
                tokio::time::sleep(wait).await;
                continue;
            }
            let error = api_error(status, response).await;
            if status.is_server_error() {
                tracing::warn!(path, attempt, %error, "Vercel server error");
                last_error = error;
                tokio::time::sleep(jitter(backoff)).await;
                backoff *= 2;
                continue;
            }
            return Err(error);
        }
        Err(last_error)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, VercelError> {
        self.call(Method::GET, path, query, None).await
    }
}

/// How long until `X-RateLimit-Reset` (epoch seconds), with a little jitter so waiters spread out.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Duration {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let reset = headers.get("x-ratelimit-reset").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    match reset {
        Some(reset) if reset > now => jitter(Duration::from_secs((reset - now) as u64)),
        _ => jitter(Duration::from_secs(1)),
    }
}

async fn api_error(status: StatusCode, response: reqwest::Response) -> VercelError {
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str::<Envelope>(&text).ok().and_then(|e| e.error);
    let code = body.as_ref().and_then(|b| b.code.clone()).unwrap_or_else(|| "unknown".into());
    if code == "integration_configuration_disabled" {
        return VercelError::Disabled;
    }
    VercelError::Api {
        status: status.as_u16(),
        message: body.and_then(|b| b.message).unwrap_or_else(|| status.to_string()),
        code,
    }
}
