//! Per-client rate limits on the routes that cost something: `/callback` (each well-formed code
//! is one exchange call to Vercel and one stored hash), `/install/start` and the server
//! functions. A flood from one client gets 429 with `Retry-After`; other clients go on.
//!
//! The bookkeeping is in the database, so every instance behind a load balancer counts against
//! the same allowance (a generic cell rate algorithm: one row per client and route, holding when
//! its next request is due). An instance remembers a refusal until it expires, so a flood costs
//! the database one write per allowed request, not one per request.
//!
//! The client is the peer address, or, behind a load balancer, the last address in the header
//! `TETHER_CLIENT_IP_HEADER` names (the one the balancer appended; earlier ones are the
//! client's own claims). An IPv6 client is counted by its network prefix (a /64 by default:
//! one subscriber usually holds a whole /64, so counting single addresses would give it 2^64
//! allowances); an IPv4-mapped IPv6 address counts as the IPv4 address it maps.
//!
//! Also here: [`Gates`], the bound on how many projects one installation provisions at once on
//! this instance.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, Weak},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use crate::params::ConfigurationId;
use crate::store::{now_ms, Store};

/// A limit: a burst a person never reaches, then a steady refill.
pub struct Limit {
    /// Names the route's bucket, shared by every instance.
    pub name: &'static str,
    pub burst: u32,
    pub refill_every_ms: u64,
}

/// Each installation link is one exchange at Vercel: 30 at once, then one every 2 s.
pub const CALLBACK: Limit = Limit { name: "callback", burst: 30, refill_every_ms: 2_000 };
/// Starting the external flow costs a state and a redirect: the same allowance, counted apart.
pub const START: Limit = Limit { name: "start", burst: 30, refill_every_ms: 2_000 };
/// The hydrated popup links one project per request, six in flight: room for a 300-project
/// team at once.
pub const SERVER_FUNCTIONS: Limit = Limit { name: "api", burst: 300, refill_every_ms: 50 };

/// The Partner API of native integrations: Vercel's servers call it, from few addresses, for
/// every team, so an address gets 2,000 at once and 1,000 a second after that; a flood from
/// anyone else is bounded to what token verification (tens of microseconds a call) easily bears.
pub const PARTNER: Limit = Limit { name: "partner", burst: 2_000, refill_every_ms: 1 };

/// The vendor's calls to Tether: one system, a status or a notification per change it makes;
/// 500 at once and 200 a second after that.
pub const VENDOR: Limit = Limit { name: "vendor", burst: 500, refill_every_ms: 5 };

/// The operator's endpoints: a scrape every few seconds and a person's requests fit easily; a
/// token guesser does not.
pub const OPERATOR: Limit = Limit { name: "operator", burst: 60, refill_every_ms: 1_000 };

/// One route's limiter, as middleware state.
#[derive(Clone)]
pub struct Limiter(Arc<Inner>);

struct Inner {
    limit: &'static Limit,
    store: Store,
    client_ip_header: Option<HeaderName>,
    ipv6_prefix: u8,
    /// Clients this instance saw refused, until when (Unix ms).
    refused: Mutex<HashMap<IpAddr, i64>>,
}

impl Limiter {
    pub fn new(limit: &'static Limit, store: Store, client_ip_header: Option<HeaderName>, ipv6_prefix: u8) -> Self {
        Self(Arc::new(Inner { limit, store, client_ip_header, ipv6_prefix, refused: Mutex::new(HashMap::new()) }))
    }

    fn client(&self, request: &Request) -> Option<IpAddr> {
        let forwarded = self.0.client_ip_header.as_ref().and_then(|name| {
            let values = request.headers().get_all(name);
            let last = values.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last()?;
            last.trim().parse::<IpAddr>().ok()
        });
        let peer = || request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        forwarded.or_else(peer).map(|ip| counted_as(ip, self.0.ipv6_prefix))
    }

    /// `Ok(None)` to go on, `Ok(Some(ms))` to wait that long.
    async fn check(&self, client: IpAddr) -> Result<Option<i64>, crate::store::StoreError> {
        let now = now_ms();
        let known = self.0.refused.lock().map(|refused| refused.get(&client).copied()).unwrap_or_default();
        if let Some(until) = known.filter(|until| *until > now) {
            return Ok(Some(until - now));
        }
        let limit = self.0.limit;
        let bucket = match client {
            IpAddr::V4(_) => format!("{}:{client}", limit.name),
            IpAddr::V6(_) => format!("{}:{client}/{}", limit.name, self.0.ipv6_prefix),
        };
        let wait = self.0.store.take_rate(&bucket, now, limit.refill_every_ms as i64, limit.burst as i64).await?;
        if let Ok(mut refused) = self.0.refused.lock() {
            // Expired entries go whenever one is written, so the map stays as small as the flood.
            refused.retain(|_, until| *until > now);
            if let Some(wait) = wait {
                refused.insert(client, now + wait);
            }
        }
        Ok(wait)
    }
}

/// Middleware: refuses a client over its allowance before the handler runs.
pub async fn enforce(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    let Some(client) = limiter.client(&request) else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, None, "The client address could not be read.".into());
    };
    match limiter.check(client).await {
        Ok(None) => next.run(request).await,
        Ok(Some(wait_ms)) => {
            let secs = (wait_ms as u64).div_ceil(1000).max(1);
            text(
                StatusCode::TOO_MANY_REQUESTS,
                Some(secs),
                format!("Too many requests from this address. Try again in {secs} s."),
            )
        }
        Err(error) => {
            tracing::error!(%error, "the rate limit cannot be read");
            text(StatusCode::SERVICE_UNAVAILABLE, Some(1), "Please try again in a moment.".into())
        }
    }
}

/// The address a client's requests count against: an IPv4 address as it is (also when it
/// arrives IPv4-mapped), an IPv6 one as its network of `ipv6_prefix` bits.
pub fn counted_as(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6);
                let mask = u128::MAX.checked_shl(128 - u32::from(ipv6_prefix.min(128))).unwrap_or(0);
                IpAddr::V6((bits & mask).into())
            }
        },
    }
}

fn text(status: StatusCode, retry_after: Option<u64>, message: String) -> Response {
    let mut response = (status, [("content-type", "text/plain; charset=utf-8")], Body::from(message)).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert("retry-after", secs.into());
    }
    response
}

/// Projects provisioned at once for one installation, across all its requests to this
/// instance: enough to overlap latency, few enough for Vercel's env rate limit.
pub const CONCURRENCY: usize = 4;

/// One gate per installation being provisioned, holding [`CONCURRENCY`] permits. The hydrated
/// popup keeps more requests in flight than that, one project each, so that a project starts
/// the moment another finishes instead of a browser round trip later; the gate keeps the work
/// itself at the bound, as the plain form's single request does.
#[derive(Default)]
pub struct Gates(Mutex<HashMap<ConfigurationId, Weak<Semaphore>>>);

impl Gates {
    pub fn gate(&self, configuration_id: &ConfigurationId) -> Arc<Semaphore> {
        let Ok(mut gates) = self.0.lock() else {
            // A poisoned map still bounds each request on its own.
            return Arc::new(Semaphore::new(CONCURRENCY));
        };
        if let Some(gate) = gates.get(configuration_id).and_then(Weak::upgrade) {
            return gate;
        }
        // Gates nobody holds any more go whenever a new one is made.
        gates.retain(|_, gate| gate.strong_count() > 0);
        let gate = Arc::new(Semaphore::new(CONCURRENCY));
        gates.insert(configuration_id.clone(), Arc::downgrade(&gate));
        gate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_prefix_and_mapped_ipv4_as_ipv4() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let a = counted_as(ip("2001:db8:1:2:aaaa::1"), 64);
        assert_eq!(a, counted_as(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), 64));
        assert_eq!(a, ip("2001:db8:1:2::"));
        assert_ne!(a, counted_as(ip("2001:db8:1:3::1"), 64), "the next /64 is another client");
        assert_eq!(counted_as(ip("2001:db8:1:2::1"), 48), counted_as(ip("2001:db8:1:ffff::1"), 48));
        assert_eq!(counted_as(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(counted_as(ip("2001:db8::1"), 0), ip("::"));
        assert_eq!(counted_as(ip("::ffff:192.0.2.7"), 64), ip("192.0.2.7"));
        assert_eq!(counted_as(ip("192.0.2.7"), 64), ip("192.0.2.7"));
    }
}
