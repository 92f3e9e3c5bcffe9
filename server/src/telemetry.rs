//! What an operator sees of a running Tether: log lines, one span per request, and metrics.

use std::time::Duration;

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

/// One span per request, `request{method route installation}`, and one line when it is
/// answered, with the status and the latency. Every line logged while the request runs carries
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
    )
}

fn answered(response: &Response, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    // Microseconds, shown as milliseconds: "3.93", not "3.9303139999999996".
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    if response.status().is_server_error() {
        tracing::error!(status, latency_ms, "answered");
    } else {
        tracing::info!(status, latency_ms, "answered");
    }
}

/// Names the installation the current request is about, on its span: from here on, every line
/// the request logs carries it.
pub fn record_installation(configuration_id: &str) {
    Span::current().record("installation", configuration_id);
}
