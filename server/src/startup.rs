//! Wiring: settings in, a router out, and a server that stops gracefully.

use std::{sync::Arc, time::Duration};

use app::{backend::SharedBackend, pages::Page};
use axum::{
    extract::State,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Router,
};
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::{compression::CompressionLayer, services::ServeDir};

use crate::{
    configure::{configure_page, uninstalled},
    install::{account, callback::callback, page::install_page, start::start},
    limits,
    provider::{BuiltinProvider, HttpProvider, Provider},
    settings::ProviderKind,
    settings::Settings,
    state::{AppState, Inner},
    store::{Schema, Store},
    vercel::Vercel,
    web,
};

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        // cargo-leptos bakes the site's file names in; plain `cargo build` falls back to ours.
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tether"))
        .site_root(settings.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.addr)
        .build()
}

pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    // Leptos renders on tokio; a second call (several servers in one test process) is harmless.
    let _ = any_spawner::Executor::init_tokio();
    // Before anything counts: a counter touched with no recorder installed is lost.
    crate::telemetry::metrics();
    let store = Store::connect_with(settings.database_url.expose(), settings.database).await?;
    if let Schema::Behind(missing) = store.schema().await? {
        anyhow::bail!(
            "the database lacks migrations {missing:?}: run `server migrate` with these settings, or start with \
             TETHER_MIGRATE_AT_START=true"
        );
    }
    let provider: Arc<dyn Provider> = match settings.provider.kind {
        ProviderKind::Builtin => {
            let builtin = BuiltinProvider::new(store.clone(), settings.sealer.clone(), settings.provider.clone());
            if settings.sandbox {
                let owners = [vercel_sim::PERSONAL_USER_ID, vercel_sim::TEAM_ID, vercel_sim::HOBBY_TEAM_ID];
                builtin.seed_demo(&owners).await?;
            }
            builtin
        }
        ProviderKind::Http => {
            let base = settings.provider.base_url.as_deref().unwrap_or_default().parse()?;
            tracing::info!(%base, "the vendor's system is the provider");
            Arc::new(HttpProvider::new(settings.provider.name.clone(), base, settings.provider_keys.clone()))
        }
    };
    let vercel = Vercel::new(
        settings.vercel.api_url.clone(),
        settings.vercel.client_id.clone(),
        settings.vercel.client_secret.clone(),
        settings.redirect_url(),
    );
    let partner_tokens = crate::vercel::oidc::Verifier::new(
        settings.vercel.marketplace_issuer.as_str(),
        &settings.vercel.client_id,
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()?,
        crate::vercel::oidc::REFETCH_AFTER,
    )?;
    let key_report = store.key_report(&settings.sealer).await?;
    if key_report.missing_rows() > 0 {
        tracing::error!(
            missing = ?key_report.missing,
            "values are sealed under keys that are no longer configured: add the key back to TETHER_SEAL_KEYS, \
             or they cannot be opened (then run `server rewrap` to move them to the newest key)"
        );
    } else if key_report.current < key_report.rows {
        tracing::info!(
            older = key_report.rows - key_report.current,
            "some values are sealed under an older key; `server rewrap` moves them to the newest"
        );
    }
    let intake = crate::store::inbox::Intake::spawn(store.clone());
    let leptos = leptos_options(&settings);
    let stylesheet_path = settings.site_root.join(app::pages::stylesheet_path(&leptos));
    let stylesheet = match std::fs::read_to_string(&stylesheet_path) {
        Ok(css) => Some(Arc::from(css)),
        Err(error) => {
            tracing::warn!(path = %stylesheet_path.display(), %error, "no stylesheet to send inside pages; they link to it");
            None
        }
    };
    let state = AppState::new(Inner {
        key_report,
        leptos,
        stylesheet,
        settings,
        store,
        vercel,
        provider,
        worker: Default::default(),
        intake,
        rows: Default::default(),
        provisioning: Default::default(),
        partner_tokens,
    });
    crate::provider::jobs::spawn(state.store.clone(), state.provider.clone());
    crate::native::vercel_jobs::spawn(state.clone());
    crate::webhook::worker::spawn(crate::webhook::worker::Worker {
        store: state.store.clone(),
        on_uninstall: state.settings.provider.on_uninstall,
        wakeup: state.worker.clone(),
    });
    spawn_housekeeping(state.store.clone());
    Ok(state)
}

/// How often expired rows are purged.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(10 * 60);

fn spawn_housekeeping(store: Store) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
        loop {
            every.tick().await;
            match store.purge(crate::store::now_ms()).await {
                Ok(purged) => tracing::debug!(?purged, "housekeeping"),
                Err(error) => tracing::warn!(%error, "housekeeping failed; retrying later"),
            }
        }
    });
}

pub fn router(state: AppState) -> Router {
    // xtask writes a max-quality `.br` beside each asset at build time.
    let pkg = ServeDir::new(state.settings.site_root.join("pkg")).precompressed_br();
    let https = state.settings.secure_cookies();
    let request_timeout = state.settings.request_timeout;
    let limit = |limit: &'static limits::Limit| {
        let limiter = limits::Limiter::new(
            limit,
            state.store.clone(),
            state.settings.client_ip_header.clone(),
            state.settings.client_ipv6_prefix,
        );
        middleware::from_fn_with_state(limiter, limits::enforce)
    };
    let same_origin = web::SameOrigin {
        origin: state.settings.public_url.origin().ascii_serialization(),
        secure_cookies: state.settings.secure_cookies(),
    };
    // Behind the operator's bearer token, and absent without one.
    let operator = Router::new()
        .route("/metrics", get(crate::operator::metrics))
        .route("/operator", get(crate::operator::overview))
        .route("/operator/webhooks/{id}/replay", post(crate::operator::replay))
        .layer(middleware::from_fn_with_state(state.clone(), crate::operator::require_token))
        .layer(limit(&limits::OPERATOR));
    // Server functions read their own bodies: capped here (a form of 1,000 choices is ~40 KB),
    // and rate limited per client as a group.
    let api = Router::new()
        .route(
            "/api/{*fn_name}",
            post(server_functions).layer(tower_http::limit::RequestBodyLimitLayer::new(web::MAX_REQUEST_BODY)),
        )
        .layer(middleware::from_fn_with_state(state.clone(), web::server_fn_answers))
        .layer(limit(&limits::SERVER_FUNCTIONS));
    // The Partner API of native integrations: Vercel's server calls it with its own token.
    let partner = {
        use crate::native::{installations, plans, resources};
        Router::new()
            .route("/v1/products/{slug}/plans", get(plans::for_product))
            .route("/v1/installations/{installation_id}/plans", get(plans::for_installation))
            .route(
                "/v1/installations/{installation_id}",
                put(installations::upsert).get(installations::read).delete(installations::remove),
            )
            .route("/v1/installations/{installation_id}/resources", post(resources::provision))
            .route(
                "/v1/installations/{installation_id}/resources/{resource_id}",
                get(resources::read).patch(resources::change).delete(resources::delete),
            )
            .route(
                "/v1/installations/{installation_id}/resources/{resource_id}/secrets/rotate",
                post(resources::rotate),
            )
            .layer(limit(&limits::PARTNER))
    };
    // The vendor's calls to Tether, signed with the keys Tether signs its own calls with.
    let vendor = Router::new()
        .route(
            &format!("{}/{{group}}/{{verb}}", crate::native::vendor_calls::BASE_PATH),
            post(crate::native::vendor_calls::receive),
        )
        .layer(limit(&limits::VENDOR));
    Router::new()
        .merge(api)
        .merge(operator)
        .merge(partner)
        .merge(vendor)
        .route("/", get(landing))
        .route("/callback", get(callback).layer(limit(&limits::CALLBACK)))
        .route(crate::native::sso::LOGIN_PATH, get(crate::native::sso::sign_in).layer(limit(&limits::CALLBACK)))
        .route("/native/{configuration_id}", get(crate::native::sso::page))
        .route("/native/{configuration_id}/resources/{resource_id}/rotate", post(crate::native::actions::rotate))
        .route("/native/{configuration_id}/resources/{resource_id}/delete", post(crate::native::actions::delete))
        .route("/install/start", get(start).layer(limit(&limits::START)))
        .route("/configure", get(configure_page))
        .route("/uninstalled", get(uninstalled))
        .route("/install/{configuration_id}", get(install_page))
        .route("/install/{configuration_id}/account", get(account::begin).layer(limit(&limits::START)))
        .route("/install/{configuration_id}/done", get(crate::install::done::done_page))
        .route(account::RETURN_PATH, get(account::finish).layer(limit(&limits::START)))
        // Server functions read their own bodies: cap them here (a form of 1,000 choices is ~40 KB).
        .route(
            "/webhooks/vercel",
            post(crate::webhook::receive).layer(axum::extract::DefaultBodyLimit::max(crate::webhook::BODY_LIMIT)),
        )
        .route("/sandbox/failures", get(web::failure_gallery))
        .route("/sandbox/failures/{name}", get(web::failure_gallery))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest_service("/pkg", pkg)
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(state.settings.site_root.join("favicon.svg")),
        )
        .fallback(web::not_found)
        .layer(middleware::from_fn_with_state(same_origin, web::same_origin_only))
        .layer(middleware::from_fn(web::cap_body))
        .layer(middleware::from_fn(move |request, next| web::security_headers(https, request, next)))
        .layer(middleware::from_fn(web::compress_pages))
        .layer(CompressionLayer::new())
        // The whole request, Vercel's budget of 10 s included (30 s unless configured).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        // Outermost: the latency it reports is the whole request's, and a 408 is traced too.
        .layer(crate::telemetry::trace_layer())
        .with_state(state)
}

/// Runs a server function with a backend that knows who is calling: the session is read here,
/// at the edge, and the function below never sees a header.
async fn server_functions(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let caller = web::Caller::of(request.headers(), state.settings.secure_cookies());
    let backend: SharedBackend = Arc::new(crate::backend::ForCaller { state, caller });
    leptos_axum::handle_server_fns_with_context(move || leptos::prelude::provide_context(backend.clone()), request)
        .await
        .into_response()
}

/// Ready to serve: the database answers, its schema is the one this build expects, and every
/// sealed value has its key configured.
async fn readyz(State(state): State<AppState>) -> Response {
    let schema = state.store.schema().await;
    let database = schema.is_ok();
    let migrations = match &schema {
        Ok(Schema::Current) => "current".to_owned(),
        Ok(Schema::Behind(missing)) => format!("behind: {missing:?} not applied (run `server migrate`)"),
        Ok(Schema::Ahead(unknown)) => format!("ahead: {unknown:?} applied by a newer Tether"),
        Err(_) => "unknown".to_owned(),
    };
    let missing = &state.key_report.missing;
    let ready = matches!(schema, Ok(Schema::Current | Schema::Ahead(_))) && missing.is_empty();
    let body = serde_json::json!({
        "ready": ready,
        "database": if database { "ok" } else { "unreachable" },
        "migrations": migrations,
        "sealed_values": state.key_report.rows,
        "sealed_under_missing_keys": missing,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn landing(State(state): State<AppState>) -> Response {
    let simulator_url = state.settings.sandbox.then(|| state.settings.vercel.dashboard_url.to_string());
    web::render(&state, StatusCode::OK, Page::Landing { simulator_url }).await
}

/// A client gets this long to send a request's headers: a slowloris connection that trickles
/// them is closed, instead of holding a socket and a task for ever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Serves HTTP/1 and HTTP/2 with timeouts that `axum::serve` does not set (it gives hyper no
/// timer, so hyper's header read timeout never fires), and stops gracefully on SIGINT/SIGTERM.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone().map_request(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                // The peer address, for per-client rate limits.
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(hyper_util::rt::TokioTimer::new()).keep_alive_interval(Duration::from_secs(30));
        let connection =
            builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("requests still running at shutdown were cut"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
