//! `screenhook serve`: wires the store, the engine, the scheduler and the HTTP server, and
//! shuts them down together on Ctrl-C or SIGTERM.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use screenhook_domain::Millis;
use screenhook_engine::{Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{ServeArgs, config::Config, load_config};

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(listen) = args.listen {
        overrides.push(("SCREENHOOK_SERVER__LISTEN".to_owned(), listen));
    }
    if let Some(database) = args.database {
        overrides.push(("SCREENHOOK_DATABASE__PATH".to_owned(), database.display().to_string()));
    }
    let config = load_config(&args.source, overrides)?;
    init_logging(&config);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(config))
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_json() { builder.json().init() } else { builder.init() }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let path = &config.database.path;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database directory {}", dir.display()))?;
    }
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(path).await.with_context(|| format!("opening the database {}", path.display()))?);
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineConfig {
            public_url: config.public_url(),
            integrity_review_delay: Millis::from_millis(config.scheduler.integrity_review_delay_ms as i64),
        },
    );
    if let Some((company, key)) = bootstrap::ensure_sandbox(&*store, &*engine.clock).await? {
        // Printed once, to stdout, so it can be captured; only its hash is stored.
        println!("Created the sandbox company '{}' and an API key with every permission:", company.id);
        println!();
        println!("    {}", key.token);
        println!();
        println!("It is shown only this once. Use it as: Authorization: Bearer <key>");
    }

    let listener = tokio::net::TcpListener::bind(config.listen())
        .await
        .with_context(|| format!("listening on {} (server.listen)", config.listen()))?;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, database = %path.display(), "screenhook is listening");

    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(
        engine.clone().run_scheduler(Duration::from_millis(config.scheduler.poll_interval_ms), shutdown.clone()),
    );
    let app = router(AppState { store });
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    });
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    server.await.context("HTTP server")?;
    shutdown.cancel();
    scheduler.await.context("scheduler")?;
    tracing::info!("screenhook stopped");
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}

#[derive(Clone)]
struct AppState {
    store: Arc<dyn Store>,
}

fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and accepts writes.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": err.to_string() })))
        }
    }
}
