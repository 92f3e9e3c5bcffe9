//! What an operator sees of a running Tether: log lines, one span per request, and metrics.

use std::time::Duration;

use crate::params::ConfigurationId;
use axum::{extract::MatchedPath, http::Request, response::Response};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::TraceLayer,
};
use tracing::Span;

/// Text or JSON lines (one object per line) on stdout, at the levels `RUST_LOG` sets.
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into());
    // A second call (several servers in one test process) keeps the first subscriber.
    let _ = if json {
        tracing_subscriber::fmt().json().with_env_filter(filter).try_init()
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).try_init()
    };
}

/// The route a request matched, as written in the router (`/install/{configuration_id}`): never
/// the path as sent, which may carry ids, nor the query, which may carry a code.
pub fn route<B>(request: &Request<B>) -> &str {
    request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str)
}

type MakeSpan = fn(&Request<axum::body::Body>) -> Span;
type OnResponse = fn(&Response, Duration, &Span);

/// One span per request, `request{method route installation status latency_ms}`, and one line
/// when it is answered, with the status and the latency. Every line logged while the request runs carries
/// the span, so once a handler knows the installation ([`record_installation`]), its lines say
/// which.
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), OnResponse, (), (), ()> {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan)
        .on_request(())
        .on_response(answered as OnResponse)
        .on_body_chunk(())
        .on_eos(())
        // A 5xx is already logged by `answered`, at error level.
        .on_failure(())
}

fn request_span(request: &Request<axum::body::Body>) -> Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = route(request),
        installation = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn answered(response: &Response, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    // Microseconds, shown as milliseconds: "3.93", not "3.9303139999999996".
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    // On the span too, so a tracing backend that keeps spans has the whole request in one.
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "answered");
    } else {
        tracing::info!(status, latency_ms, "answered");
    }
}

/// Names the installation the current request is about, on its span: from here on, every line
/// the request logs carries it.
pub fn record_installation(configuration_id: &ConfigurationId) {
    Span::current().record("installation", configuration_id.as_str());
}

// Metrics: counted where things happen, rendered in Prometheus's text format at `/metrics`
// (see `crate::operator`). Label values come from fixed sets, never from a request: a label
// an attacker could choose would grow the exporter's memory without bound.

/// Latency buckets, in seconds: from a cached page (milliseconds) to Vercel's slowest answers.
const BUCKETS: [f64; 12] = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static METRICS: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> = std::sync::OnceLock::new();

/// Installs the process's metrics recorder once (tests start several servers in one process)
/// and returns the handle that renders it; `None` if another recorder was installed first.
pub fn metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    METRICS
        .get_or_init(|| {
            let builder = metrics_exporter_prometheus::PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            // Histograms keep their samples until upkeep folds them into the buckets.
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("tether_installs_total", "Install popups by flow and outcome: started, completed, failed.");
    describe_counter!("tether_project_links_total", "Projects linked from the popup, by outcome.");
    describe_counter!("tether_vercel_requests_total", "Calls to Vercel's API by endpoint and status.");
    describe_histogram!(
        "tether_vercel_request_duration_seconds",
        Unit::Seconds,
        "Time of each call to Vercel's API, one attempt each."
    );
    describe_counter!("tether_vercel_retries_total", "Retries of a Vercel call, by endpoint and reason.");
    describe_counter!(
        "tether_vercel_wait_seconds_total",
        Unit::Seconds,
        "Time spent waiting before retrying Vercel, by reason (rate_limited, server_error, unreachable)."
    );
    describe_counter!("tether_webhook_events_total", "Vercel webhook deliveries by event type and outcome.");
    describe_gauge!("tether_webhook_inbox_depth", "Webhook events stored and not yet applied.");
    describe_gauge!(
        "tether_webhook_oldest_unapplied_age_seconds",
        Unit::Seconds,
        "Age of the oldest webhook event not yet applied; 0 when none waits."
    );
    describe_gauge!("tether_webhook_parked", "Webhook events parked after too many failed attempts.");
    describe_counter!("tether_provider_requests_total", "Calls to the vendor's system by operation and outcome.");
    describe_counter!(
        "tether_partner_requests_total",
        "Vercel's calls to the Partner API (native) by route and status."
    );
    describe_counter!(
        "tether_vendor_calls_total",
        "The vendor's calls to Tether (native: status, secrets, import, notification) by action and status."
    );
    describe_histogram!(
        "tether_partner_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a Partner API call, the vendor's part included."
    );
    describe_histogram!(
        "tether_provider_request_duration_seconds",
        Unit::Seconds,
        "Time of each call to the vendor's system, retries included."
    );
}

/// An install popup's step: `started` (the code was exchanged and the installation stored),
/// `completed` (the popup returned to Vercel) or `failed` (the callback was refused, `reason`).
pub fn install(flow: &'static str, outcome: &'static str, reason: &'static str) {
    metrics::counter!("tether_installs_total", "flow" => flow, "outcome" => outcome, "reason" => reason).increment(1);
}

pub fn project_link(outcome: &'static str) {
    metrics::counter!("tether_project_links_total", "outcome" => outcome).increment(1);
}

/// A call's path as a fixed label: known segments kept, ids replaced, so `/v9/projects/prj_1/env`
/// and `/v9/projects/prj_2/env` count together.
pub fn vercel_endpoint(method: &str, path: &str) -> String {
    const KNOWN: [&str; 14] = [
        "v1",
        "v2",
        "v6",
        "v9",
        "v10",
        "projects",
        "env",
        "teams",
        "user",
        "oauth",
        "access_token",
        "integrations",
        "configuration",
        "deployments",
    ];
    let mut endpoint = String::from(method);
    endpoint.push(' ');
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        endpoint.push('/');
        endpoint.push_str(if KNOWN.contains(&segment) { segment } else { "{id}" });
    }
    endpoint
}

/// Sends one attempt at a Vercel call and counts it, with its status (or `error` when no
/// answer came) and its time.
pub async fn send_to_vercel(endpoint: &str, request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let started = std::time::Instant::now();
    let sent = request.send().await;
    let status = sent.as_ref().map_or_else(|_| "error".to_owned(), |response| response.status().as_u16().to_string());
    let elapsed = started.elapsed();
    metrics::counter!("tether_vercel_requests_total", "endpoint" => endpoint.to_owned(), "status" => status)
        .increment(1);
    metrics::histogram!("tether_vercel_request_duration_seconds", "endpoint" => endpoint.to_owned())
        .record(elapsed.as_secs_f64());
    sent
}

/// A Vercel call that will be tried again after `wait`.
pub fn vercel_retry(endpoint: &str, reason: &'static str, wait: Duration) {
    metrics::counter!("tether_vercel_retries_total", "endpoint" => endpoint.to_owned(), "reason" => reason)
        .increment(1);
    metrics::counter!("tether_vercel_wait_seconds_total", "reason" => reason).increment(wait.as_secs());
}

/// What became of a webhook delivery (`stored`, `duplicate`, `rejected`, `malformed`) or of
/// its event (`applied`, `failed`, `parked`), by the event's kind; one that could not be read
/// counts as `other`, like a type Tether does not know.
pub fn webhook(kind: Option<crate::params::EventKind>, outcome: &'static str) {
    let kind = kind.map_or("other", crate::params::EventKind::label);
    metrics::counter!("tether_webhook_events_total", "type" => kind, "outcome" => outcome).increment(1);
}

/// The inbox as the database holds it, set when metrics are read: every instance reads the
/// same shared table.
pub fn inbox(depth: i64, oldest_age: Duration, parked: i64) {
    metrics::gauge!("tether_webhook_inbox_depth").set(depth as f64);
    metrics::gauge!("tether_webhook_oldest_unapplied_age_seconds").set(oldest_age.as_secs_f64());
    metrics::gauge!("tether_webhook_parked").set(parked as f64);
}

/// A call to the vendor's system (`operation` is the contract's path), retries included.
/// The vendor refused Tether's signature where a user saw it: an operator's alert.
pub fn provider_misconfigured() {
    metrics::counter!("tether_provider_signature_refusals_total").increment(1);
}

pub fn provider_call(operation: &'static str, outcome: &'static str, elapsed: Duration) {
    metrics::counter!("tether_provider_requests_total", "operation" => operation, "outcome" => outcome).increment(1);
    metrics::histogram!("tether_provider_request_duration_seconds", "operation" => operation)
        .record(elapsed.as_secs_f64());
}

/// One of the vendor's calls to Tether, by the action its path names (`unknown` for none).
pub fn vendor_call(action: &'static str, status: u16) {
    metrics::counter!("tether_vendor_calls_total", "action" => action, "status" => status.to_string()).increment(1);
}

/// Counts and times each Partner API call (native integrations) by its route's pattern, so the
/// labels are the routes Tether has, never what a caller put in a path.
pub async fn partner_call(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|path| format!("{} {}", request.method(), path.as_str()))
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tether_partner_requests_total", "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("tether_partner_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_api_shape_and_drop_the_ids() {
        assert_eq!(vercel_endpoint("GET", "/v9/projects"), "GET /v9/projects");
        assert_eq!(vercel_endpoint("DELETE", "/v9/projects/prj_1/env/env_9"), "DELETE /v9/projects/{id}/env/{id}");
        assert_eq!(vercel_endpoint("GET", "/v2/teams/team_x"), "GET /v2/teams/{id}");
        assert_eq!(vercel_endpoint("GET", "/v9/projects/my%20site"), "GET /v9/projects/{id}");
    }
}
