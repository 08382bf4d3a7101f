//! `screenhook serve`: wires the store, the engine, the scheduler and the HTTP server, and
//! shuts them down together on Ctrl-C or SIGTERM.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use screenhook_api::{ApiConfig, ApiState};
use screenhook_console::Console;
use screenhook_delivery::{DeliveryConfig, Notifier, Retention, WebhookManager, Worker};
use screenhook_domain::Millis;
use screenhook_engine::{Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_inspector::{Inspector, InspectorConfig};
use screenhook_store::{Store, StoreError};
use screenhook_store_postgres::{PgOptions, PgStore};
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Mailer, RetryPolicy, Sender, SenderConfig, SmtpConfig, SmtpTls};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{MigrateArgs, ServeArgs, config::Config, load_config};

/// `screenhook migrate`: applies the configured database's pending migrations and exits.
pub fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(url) = args.database_url {
        overrides.push(("SCREENHOOK_DATABASE__URL".to_owned(), url));
    }
    let config = load_config(&args.source, overrides)?;
    init_logging(&config);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        open_store(&config, true, false).await?;
        println!("The database {} is up to date.", database_label(&config));
        Ok(())
    })
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(listen) = args.listen {
        overrides.push(("SCREENHOOK_SERVER__LISTEN".to_owned(), listen));
    }
    if let Some(database) = args.database {
        overrides.push(("SCREENHOOK_DATABASE__PATH".to_owned(), database.display().to_string()));
    }
    if let Some(url) = args.database_url {
        overrides.push(("SCREENHOOK_DATABASE__URL".to_owned(), url));
    }
    if let Some(role) = args.role {
        overrides.push(("SCREENHOOK_SERVER__ROLE".to_owned(), role));
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

/// Opens the configured database: PostgreSQL when `database.url` is set, else the SQLite file
/// (whose migrations always run at open). `migrate` runs PostgreSQL migrations regardless of
/// `database.migrate_on_start`.
/// `serving`: this process is about to serve the database, in any role. Every serving process
/// needs the key, an API-only one included: it writes the secrets of the webhooks it creates.
pub async fn open_store(config: &Config, migrate: bool, serving: bool) -> anyhow::Result<Arc<dyn Store>> {
    let keys = config.secret_keys()?;
    if let Some(why) = keys.missing().filter(|_| serving) {
        anyhow::bail!("{why}");
    }
    let key_id = keys.current_id().to_owned();
    if let Some(url) = config.postgres_url() {
        let options = PgOptions {
            max_connections: config.database.max_connections,
            migrate: migrate || config.database.migrate_on_start,
            schema: None,
        };
        let store = PgStore::connect(url, options, keys).await.context("connecting to PostgreSQL (database.url)")?;
        let store: Arc<dyn Store> = Arc::new(store);
        if serving {
            reseal(&*store, &key_id).await?;
        }
        return Ok(store);
    }
    let path = &config.database.path;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the database directory {}", dir.display()))?;
    }
    let store = SqliteStore::open_with_keys(path, keys)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    if serving && config.role().runs_workers() {
        // Only one process serves an SQLite file: whatever a previous one had in flight when
        // it died is due again now rather than when its lease runs out.
        let released = store.release_leases().await?;
        if released > 0 {
            tracing::info!(released, "deliveries left in flight by a previous run are due again");
        }
    }
    if serving {
        reseal(&store, &key_id).await?;
    }
    Ok(Arc::new(store))
}

/// Moves every webhook secret under the current key: what makes a key rotation finish, and
/// what seals secrets written before sealing existed.
pub(crate) async fn reseal(store: &dyn Store, key_id: &str) -> anyhow::Result<u64> {
    let resealed = store.reseal_secrets().await.context("resealing webhook secrets under secrets.key")?;
    if resealed > 0 {
        tracing::info!(resealed, key = key_id, "webhook secrets resealed under the current key");
    }
    Ok(resealed)
}

/// What the log says the database is, without a PostgreSQL URL's password.
pub(crate) fn database_label(config: &Config) -> String {
    match config.postgres_url() {
        Some(url) => match url.split_once("://").and_then(|(_, rest)| rest.rsplit_once('@')) {
            Some((_, host)) => format!("postgres://…@{host}"),
            None => url.to_owned(),
        },
        None => config.database.path.display().to_string(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Before anything records: the recorder is process-wide.
    let metrics = config.metrics.enabled.then(crate::metrics::install).transpose().context("installing metrics")?;
    let store = open_store(&config, false, true).await?;
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineConfig {
            public_url: config.public_url(),
            integrity_review_delay: Millis::from_millis(config.scheduler.integrity_review_delay_ms as i64),
        },
    );
    match bootstrap::ensure_sandbox(&*store, &*engine.clock).await {
        Ok(Some((company, key))) => {
            // Printed once, to stdout, so it can be captured; only its hash is stored.
            println!("Created the sandbox company '{}' and an API key with every permission:", company.id);
            println!();
            println!("    {}", key.token);
            println!();
            println!("It is shown only this once. Use it as: Authorization: Bearer <key>");
        }
        Ok(None) => {}
        // Several processes started at once on an empty shared database: another one won.
        Err(StoreError::Duplicate { what }) => tracing::info!(%what, "another process created the sandbox company"),
        Err(err) => return Err(err.into()),
    }

    let listener = tokio::net::TcpListener::bind(config.listen())
        .await
        .with_context(|| format!("listening on {} (server.listen)", config.listen()))?;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, database = %database_label(&config), "screenhook is listening");

    let sender = Sender::new(sender_config(&config)).context("building the delivery HTTP client")?;
    let worker = Worker::new(store.clone(), sender.clone(), engine.clock.clone(), delivery_config(&config));
    let mailer = Mailer::from_config(smtp_config(&config).as_ref()).context("configuring SMTP (smtp.*)")?;
    if matches!(mailer, Mailer::Log(_)) {
        tracing::info!("no SMTP relay configured (smtp.host): owner emails will be written to the log");
    }
    let notifier = Notifier {
        store: store.clone(),
        mailer,
        clock: engine.clock.clone(),
        poll_interval: Duration::from_millis(config.delivery.poll_interval_ms),
    };

    let shutdown = CancellationToken::new();
    let role = config.role();
    tracing::info!(role = role.as_str(), "running");
    // The clock's side and delivery run where workers run; the API where the API runs.
    let mut background = Background::default();
    if role.runs_workers() {
        let poll = Duration::from_millis(config.scheduler.poll_interval_ms);
        background.spawn("the scheduler", engine.clone().run_scheduler(poll, shutdown.clone()));
        background.spawn("the delivery worker", worker.run(shutdown.clone()));
        background.spawn("the owner-email notifier", notifier.run(shutdown.clone()));
    }
    // With several worker processes each one purges; the batches skip each other's rows.
    if role.runs_workers() && config.retention.days > 0.0 {
        let retention = Retention {
            store: store.clone(),
            clock: engine.clock.clone(),
            keep: Millis::from_millis((config.retention.days * 86_400_000.0) as i64),
            interval: Duration::from_secs(config.retention.interval_secs.max(1)),
        };
        background.spawn("retention", retention.run(shutdown.clone()));
    }
    let webhooks = WebhookManager::new(store.clone(), sender, engine.clock.clone());
    let api = ApiState::new(
        engine.clone(),
        webhooks.clone(),
        ApiConfig {
            rate_limit_per_second: config.api.rate_limit_per_second,
            rate_limit_burst: config.api.rate_limit_burst,
            operator_token: Some(&config.operator.token)
                .filter(|token| !token.is_empty())
                .map(|token| screenhook_api::operator::OperatorToken::new(token.as_str())),
            ..ApiConfig::default()
        },
    );
    // Bins live in this process's memory: with several API processes, a bin's URL must
    // reach the process that created it.
    let inspector = Inspector::new(inspector_config(&config), store.clone(), engine.clock.clone());
    // The console's simulator talks to this server over HTTP, at its listen address.
    let console = Console::new(engine.clone(), webhooks, local_url(addr));
    let mut app = router(AppState { store: store.clone() });
    if let Some(handle) = metrics {
        app = app.merge(crate::metrics::router(handle, store, engine.clock.clone(), &config.metrics.token));
    }
    if role.runs_api() {
        app = app
            .merge(screenhook_api::router(api))
            .merge(inspector.router())
            .merge(screenhook_web::assets::router())
            .merge(console.router());
    }
    let app = app
        .layer(axum::middleware::from_fn(crate::metrics::track_requests))
        .layer(axum::middleware::from_fn(screenhook_web::security_headers));
    // The inspector records each request's source address.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown({
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    });
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    supervise(server.into_future(), background, shutdown).await?;
    tracing::info!("screenhook stopped");
    Ok(())
}

/// The background tasks of a serving process (scheduler, delivery, notifications, retention),
/// each named for the error that says it ended.
#[derive(Default)]
struct Background {
    tasks: tokio::task::JoinSet<()>,
    names: std::collections::HashMap<tokio::task::Id, &'static str>,
}

impl Background {
    fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let id = self.tasks.spawn(task).id();
        self.names.insert(id, name);
    }
}

/// Serves until `server` ends (after `shutdown`, on a signal) and then waits for the background
/// tasks. A background task runs until `shutdown`, so one that ends before — it panicked, or
/// returned — means the process would go on serving half a product (an API whose timers never
/// fire, or events never delivered): everything is stopped gracefully and the answer is an
/// error, so the process exits non-zero and its supervisor restarts it.
async fn supervise(
    server: impl Future<Output = std::io::Result<()>>,
    mut background: Background,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut server = std::pin::pin!(server);
    let name_of = |background: &Background, id| background.names.get(&id).copied().unwrap_or("a background task");
    let (mut died, mut panicked, mut served, mut server_error) = (None, None, false, None);
    tokio::select! {
        result = &mut server => {
            // Even a failed server stops the background tasks before the process exits.
            server_error = result.err();
            served = true;
        }
        Some(ended) = background.tasks.join_next_with_id(), if !background.tasks.is_empty() => {
            let (id, how) = match ended {
                Ok((id, ())) => (id, "stopped on its own"),
                Err(err) => (err.id(), if err.is_panic() { "panicked" } else { "was cancelled" }),
            };
            let name = name_of(&background, id);
            if !shutdown.is_cancelled() {
                tracing::error!(task = name, how, "a background task ended while serving; stopping the server");
                died = Some(format!("{name} {how} while the server was serving; it stopped rather than serve without it"));
            } else if how == "panicked" {
                // It ended with everything else after the signal, but not cleanly.
                panicked = Some(name);
            }
        }
    }
    shutdown.cancel();
    if !served {
        server_error = server.await.err();
    }
    while let Some(ended) = background.tasks.join_next_with_id().await {
        // Cancelled tasks are not failures: only a panic is.
        if let Err(err) = &ended
            && err.is_panic()
        {
            panicked.get_or_insert(name_of(&background, err.id()));
        }
    }
    if let Some(err) = server_error {
        return Err(anyhow::Error::new(err).context("HTTP server"));
    }
    match (died, panicked) {
        (Some(died), _) => anyhow::bail!(died),
        (None, Some(name)) => anyhow::bail!("{name} panicked while stopping"),
        (None, None) => Ok(()),
    }
}

pub(crate) fn sender_config(config: &Config) -> SenderConfig {
    SenderConfig {
        egress: EgressPolicy {
            allow_loopback: config.delivery.allow_loopback,
            allowed_cidrs: config.allowed_cidrs(),
            allow_http: config.delivery.allow_http,
        },
        // Keep enough warm connections for the per-webhook concurrency.
        pool_max_idle_per_host: config.delivery.per_webhook,
        trusted_prefixes: trusted_prefixes(config),
        ..SenderConfig::default()
    }
}

fn inspector_config(config: &Config) -> InspectorConfig {
    let section = &config.inspector;
    InspectorConfig {
        bin_ttl: Duration::from_secs(section.bin_ttl_secs),
        max_requests_per_bin: section.max_requests_per_bin,
        max_body_bytes: section.max_body_bytes,
        max_bins: section.max_bins,
        ..InspectorConfig::new(&config.public_url())
    }
}

/// The inspector's bins, which webhooks may target without opening the SSRF guard: under
/// the public URL, and under the listen address when that differs (an unspecified listen
/// address is reached on loopback).
fn trusted_prefixes(config: &Config) -> Vec<String> {
    let mut prefixes = vec![inspector_config(config).bin_prefix()];
    let listen = config.listen();
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let local = format!("http://{}/inspect/", SocketAddr::new(ip, listen.port()));
    if !prefixes.contains(&local) {
        prefixes.push(local);
    }
    prefixes
}

/// How this process reaches itself: its listen address, on loopback when unspecified.
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn delivery_config(config: &Config) -> DeliveryConfig {
    let retry = &config.retry;
    DeliveryConfig {
        concurrency: config.delivery.concurrency,
        per_webhook: config.delivery.per_webhook,
        lease: Millis::from_millis(config.delivery.lease_ms as i64),
        poll_interval: Duration::from_millis(config.delivery.poll_interval_ms),
        retry: RetryPolicy {
            max_attempts: retry.max_attempts,
            random_max_secs: f64::from(retry.random_max_secs),
            owner_email_after: retry.email_after.clone(),
            owner_email_every_from: retry.email_every_from,
            disable_after_consecutive_failures: retry.disable_after,
            ..RetryPolicy::default()
        },
    }
}

fn smtp_config(config: &Config) -> Option<SmtpConfig> {
    let smtp = &config.smtp;
    if smtp.host.is_empty() {
        return None;
    }
    let mut out = SmtpConfig::new(&smtp.host, smtp.port, &smtp.from);
    out.tls = match smtp.tls.as_str() {
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        _ => SmtpTls::StartTls,
    };
    if !smtp.username.is_empty() {
        out.username = Some(smtp.username.clone());
        out.password = Some(smtp.password.clone());
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::load(None, pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    /// A stand-in for the HTTP server: serves until `shutdown`, like axum's graceful shutdown.
    fn server(shutdown: &CancellationToken) -> impl Future<Output = std::io::Result<()>> + use<> {
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            Ok(())
        }
    }

    /// A background task as they all are: it runs until `shutdown`.
    fn until(shutdown: &CancellationToken) -> impl Future<Output = ()> + Send + 'static + use<> {
        let shutdown = shutdown.clone();
        async move { shutdown.cancelled().await }
    }

    #[tokio::test]
    async fn a_signal_stops_the_server_and_then_the_background_tasks() {
        let shutdown = CancellationToken::new();
        let mut background = Background::default();
        background.spawn("the scheduler", until(&shutdown));
        background.spawn("the delivery worker", until(&shutdown));
        let signal = shutdown.clone();
        tokio::spawn(async move { signal.cancel() });
        supervise(server(&shutdown), background, shutdown).await.expect("a clean stop");
    }

    #[tokio::test]
    async fn a_background_task_that_dies_stops_the_server_with_an_error_naming_it() {
        for (dies, how) in [
            (
                Box::pin(async { panic!("boom") as () }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
                "panicked",
            ),
            (Box::pin(async {}), "stopped on its own"),
        ] {
            let shutdown = CancellationToken::new();
            let mut background = Background::default();
            background.spawn("the scheduler", until(&shutdown));
            background.spawn("the delivery worker", dies);
            let err = supervise(server(&shutdown), background, shutdown.clone()).await.unwrap_err().to_string();
            assert!(err.starts_with(&format!("the delivery worker {how} while the server was serving")), "{err}");
            assert!(shutdown.is_cancelled(), "the server and the other tasks were told to stop");
        }
    }

    #[tokio::test]
    async fn a_failed_server_still_stops_the_background_tasks_first() {
        let shutdown = CancellationToken::new();
        let mut background = Background::default();
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, token) = (stopped.clone(), shutdown.clone());
        background.spawn("the delivery worker", async move {
            token.cancelled().await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let failing = async { Err(std::io::Error::other("the listener failed")) };
        let err = supervise(failing, background, shutdown.clone()).await.unwrap_err();
        assert_eq!(format!("{err:#}"), "HTTP server: the listener failed");
        assert!(stopped.load(std::sync::atomic::Ordering::SeqCst), "the worker finished before the answer");
    }

    #[test]
    fn the_logged_database_hides_the_password() {
        let postgres = config(&[("SCREENHOOK_DATABASE__URL", "postgres://screenhook:secret@db.internal:5432/prod")]);
        assert_eq!(database_label(&postgres), "postgres://…@db.internal:5432/prod");
        assert_eq!(database_label(&config(&[])), "screenhook.db");
    }

    #[test]
    fn only_the_inspectors_bins_are_trusted() {
        assert_eq!(trusted_prefixes(&config(&[])), ["http://127.0.0.1:8740/inspect/"]);
        let behind_proxy = config(&[
            ("SCREENHOOK_SERVER__PUBLIC_URL", "https://hooks.example.com/"),
            ("SCREENHOOK_SERVER__LISTEN", "0.0.0.0:9000"),
        ]);
        assert_eq!(
            trusted_prefixes(&behind_proxy),
            ["https://hooks.example.com/inspect/", "http://127.0.0.1:9000/inspect/"]
        );
        let sender = Sender::new(sender_config(&behind_proxy)).unwrap();
        assert!(sender.is_trusted("https://hooks.example.com/inspect/0123/in"));
        assert!(!sender.is_trusted("http://127.0.0.1:9000/graphql"));
    }
}
