//! Per-client rate limits on the routes that cost something: `/callback` (each well-formed code
//! is one exchange call to Vercel and one stored hash), `/install/start` and the server
//! functions. A flood from one client gets 429 with `Retry-After`; other clients go on.
//!
//! The client is the peer address, or, behind a load balancer, the last address in the header
//! `TETHER_CLIENT_IP_HEADER` names (the one the balancer appended; earlier ones are the
//! client's own claims).

use std::{net::IpAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{HeaderName, Request, Response, StatusCode},
};
use tower_governor::{
    governor::{GovernorConfig, GovernorConfigBuilder},
    key_extractor::KeyExtractor,
    GovernorError, GovernorLayer,
};

#[derive(Debug, Clone)]
pub struct ClientIp {
    pub header: Option<HeaderName>,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        let forwarded = self.header.as_ref().and_then(|name| {
            let values = request.headers().get_all(name);
            let last = values.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last()?;
            last.trim().parse::<IpAddr>().ok()
        });
        let peer = || request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
        forwarded.or_else(peer).ok_or(GovernorError::UnableToExtractKey)
    }
}

/// A limit: a burst a person never reaches, then a steady refill.
pub struct Limit {
    pub burst: u32,
    pub refill_every_ms: u64,
}

/// Each installation link is one exchange at Vercel: 30 at once, then one every 2 s.
pub const CALLBACK: Limit = Limit { burst: 30, refill_every_ms: 2_000 };
/// The hydrated popup links one project per request: room for a 300-project team at once.
pub const SERVER_FUNCTIONS: Limit = Limit { burst: 300, refill_every_ms: 50 };

pub fn layer(limit: &Limit, client: &ClientIp) -> GovernorLayer<ClientIp, governor::middleware::NoOpMiddleware, Body> {
    let config: GovernorConfig<ClientIp, _> = GovernorConfigBuilder::default()
        .per_millisecond(limit.refill_every_ms)
        .burst_size(limit.burst)
        .key_extractor(client.clone())
        .finish()
        .unwrap_or_else(|| unreachable!("a non-zero burst and period always build"));
    GovernorLayer::new(Arc::new(config)).error_handler(too_many)
}

fn too_many(error: GovernorError) -> Response<Body> {
    let (status, wait, message) = match error {
        GovernorError::TooManyRequests { wait_time, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(wait_time.max(1)),
            format!("Too many requests from this address. Try again in {} s.", wait_time.max(1)),
        ),
        GovernorError::UnableToExtractKey => {
            (StatusCode::INTERNAL_SERVER_ERROR, None, "The client address could not be read.".to_owned())
        }
        GovernorError::Other { code, msg, .. } => (code, None, msg.unwrap_or_default()),
    };
    let mut response = Response::builder().status(status).header("content-type", "text/plain; charset=utf-8");
    if let Some(wait) = wait {
        response = response.header("retry-after", wait);
    }
    response.body(Body::from(message)).unwrap_or_else(|_| Response::new(Body::empty()))
}
