//! The application: everything `screenhook serve` runs, wired once from the configuration.
//!
//! [`App::build`] opens the store (SQLite, or PostgreSQL when `database.url` is set) and makes
//! the engine, the sandbox company on a fresh database, the delivery worker and the owner-email
//! notifier. [`App::run`] serves HTTP on a listener the caller bound — the health checks and
//! `/metrics`, and where the role runs the API: the GraphQL API, the console, the inspector and
//! the assets — runs the background tasks the role runs (scheduler, delivery, notifier,
//! retention), and stops them all together when `shutdown` is cancelled or one of them dies.
//! [`App::spawn`] does both on `127.0.0.1:0` in the background, for tests.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use screenhook_api::{ApiConfig, ApiState};
use screenhook_console::Console;
use screenhook_delivery::{DeliveryConfig, Notifier, Retention, WebhookManager, Worker};
use screenhook_domain::{CompanyId, Millis};
use screenhook_engine::{Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_inspector::{Inspector, InspectorConfig};
use screenhook_store::{Store, StoreError};
use screenhook_store_postgres::{PgOptions, PgStore};
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Mailer, RetryPolicy, Sender, SenderConfig, SmtpConfig, SmtpTls};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Everything a serving process runs, built from its [`Config`] and not yet serving.
pub struct App {
    config: Config,
    store: Arc<dyn Store>,
    engine: Engine,
    sender: Sender,
    worker: Worker,
    notifier: Notifier,
    metrics: Option<PrometheusHandle>,
    sandbox: Option<CreatedSandbox>,
}

/// The sandbox company [`App::build`] created on a fresh database, and its API key (every
/// permission), which exists only here: the store keeps its hash.
#[derive(Clone)]
pub struct CreatedSandbox {
    pub company: CompanyId,
    pub key: String,
}

impl App {
    /// Opens the configured store for serving (migrated, leases left by a previous SQLite
    /// process released, webhook secrets resealed under the current key), creates the
    /// sandbox company on a fresh database, and builds the engine, the delivery worker and
    /// the notifier on the system clock. With `metrics.enabled`, the process-wide recorder is
    /// installed first, before anything records.
    pub async fn build(config: Config) -> anyhow::Result<App> {
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
        let sandbox = match bootstrap::ensure_sandbox(&*store, &*engine.clock).await {
            Ok(created) => created.map(|(company, key)| CreatedSandbox { company: company.id, key: key.token }),
            // Several processes started at once on an empty shared database: another one won.
            Err(StoreError::Duplicate { what }) => {
                tracing::info!(%what, "another process created the sandbox company");
                None
            }
            Err(err) => return Err(err.into()),
        };
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
        Ok(App { config, store, engine, sender, worker, notifier, metrics, sandbox })
    }

    /// Builds the app and serves it in the background on `127.0.0.1:0`, which becomes its
    /// `server.listen` and `server.public_url`, so candidate links and the inspector's bins
    /// point at it. For tests: a free port without a race, and the address to call.
    pub async fn spawn(mut config: Config) -> anyhow::Result<Running> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        config.set_address(addr);
        let app = App::build(config).await?;
        let (store, engine, sandbox) = (app.store.clone(), app.engine.clone(), app.sandbox.clone());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(app.run(listener, shutdown.clone()));
        Ok(Running { addr, store, engine, sandbox, shutdown, task: Some(task) })
    }

    /// The sandbox company this start created, with its key; `None` when the database
    /// already had companies.
    pub fn created_sandbox(&self) -> Option<&CreatedSandbox> {
        self.sandbox.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves on `listener` until `shutdown` is cancelled, then waits for the background
    /// tasks. A background task that ends before — it panicked, or returned — would leave
    /// the process serving half a product (an API whose timers never fire, or events never
    /// delivered): everything is stopped gracefully and the answer is an error naming it, so
    /// the process exits non-zero and its supervisor restarts it.
    pub async fn run(self, listener: TcpListener, shutdown: CancellationToken) -> anyhow::Result<()> {
        let addr = listener.local_addr()?;
        let App { config, store, engine, sender, worker, notifier, metrics, sandbox: _ } = self;
        tracing::info!(%addr, database = %database_label(&config), "screenhook is listening");
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
        let router = router(&config, store, engine, sender, metrics, addr);
        // The inspector records each request's source address.
        let router = router.into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, router).with_graceful_shutdown({
            let shutdown = shutdown.clone();
            async move { shutdown.cancelled().await }
        });
        supervise(server.into_future(), background, shutdown, STOP_GRACE).await?;
        tracing::info!("screenhook stopped");
        Ok(())
    }
}

/// An [`App`] serving in the background ([`App::spawn`]); dropping it stops it as a signal
/// would.
pub struct Running {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    engine: Engine,
    sandbox: Option<CreatedSandbox>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// See [`App::created_sandbox`].
    pub fn created_sandbox(&self) -> Option<&CreatedSandbox> {
        self.sandbox.as_ref()
    }

    /// Stops as a signal would and answers what [`App::run`] answered.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let task = self.task.take().expect("stopped once");
        task.await.context("the app's task")?
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Every route the process serves for its role, behind the request log and the security
/// headers. `addr` is where it listens: the console's simulator calls this server there.
fn router(
    config: &Config,
    store: Arc<dyn Store>,
    engine: Engine,
    sender: Sender,
    metrics: Option<PrometheusHandle>,
    addr: SocketAddr,
) -> Router {
    let mut app = health_router(HealthState { store: store.clone() });
    if let Some(handle) = metrics {
        app = app.merge(crate::metrics::router(handle, store.clone(), engine.clock.clone(), &config.metrics.token));
    }
    if config.role().runs_api() {
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
        let inspector = Inspector::new(inspector_config(config), store, engine.clock.clone());
        let console = Console::new(engine, webhooks, local_url(addr));
        app = app
            .merge(screenhook_api::router(api))
            .merge(inspector.router())
            .merge(screenhook_web::assets::router())
            .merge(console.router());
    }
    app.layer(axum::middleware::from_fn(crate::metrics::track_requests))
        .layer(axum::middleware::from_fn(screenhook_web::security_headers))
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
            reseal_at_start(&store, key_id).await?;
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
    let store: Arc<dyn Store> = Arc::new(store);
    if serving {
        reseal_at_start(&store, key_id).await?;
    }
    Ok(store)
}

/// What a start reseals: the webhooks before serving (a handful of rows, and a secret under a
/// key that is not configured stops the start, naming the key), the sessions in the background
/// (a scan of every session: about a second per million, and serving need not wait for it).
async fn reseal_at_start(store: &Arc<dyn Store>, key_id: String) -> anyhow::Result<()> {
    let webhooks = store.reseal_webhooks().await.context("resealing webhook secrets under secrets.key")?;
    if webhooks > 0 {
        tracing::info!(webhooks, key = key_id, "webhook secrets resealed under the current key");
    }
    let store = store.clone();
    tokio::spawn(async move {
        match store.reseal_sessions().await {
            Ok(0) => {}
            Ok(sessions) => tracing::info!(sessions, key = key_id, "session tokens resealed under the current key"),
            Err(err) => {
                tracing::warn!(%err, "resealing session tokens under secrets.key failed; run `screenhook secrets reseal`")
            }
        }
    });
    Ok(())
}

/// Moves every webhook secret and session token under the current key: what makes a key
/// rotation finish, and what seals secrets written before sealing existed.
pub async fn reseal(store: &dyn Store, key_id: &str) -> anyhow::Result<screenhook_store::Resealed> {
    let resealed = store.reseal_secrets().await.context("resealing secrets under secrets.key")?;
    if resealed != screenhook_store::Resealed::default() {
        let (webhooks, sessions) = (resealed.webhooks, resealed.sessions);
        tracing::info!(webhooks, sessions, key = key_id, "secrets resealed under the current key");
    }
    Ok(resealed)
}

/// What the log says the database is, without a PostgreSQL URL's password.
pub fn database_label(config: &Config) -> String {
    match config.postgres_url() {
        Some(url) => match url.split_once("://").and_then(|(_, rest)| rest.rsplit_once('@')) {
            Some((_, host)) => format!("postgres://…@{host}"),
            None => url.to_owned(),
        },
        None => config.database.path.display().to_string(),
    }
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

/// How long a stop may take once asked for: a webhook request may take 10 s and the worker
/// then records what it sent, but a client holding a connection open must not keep the
/// process alive for good.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Serves until `server` ends (after `shutdown`) and then waits for the background tasks; see
/// [`App::run`] for what a background task ending first means. What has not stopped within
/// `grace` of the stop is dropped: in-flight deliveries keep their leases and go out again.
async fn supervise(
    server: impl Future<Output = std::io::Result<()>>,
    mut background: Background,
    shutdown: CancellationToken,
    grace: Duration,
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
    let deadline = tokio::time::Instant::now() + grace;
    let mut overdue = Vec::new();
    if !served {
        match tokio::time::timeout_at(deadline, server).await {
            Ok(result) => server_error = result.err(),
            Err(_) => overdue.push("the HTTP server (open connections)"),
        }
    }
    loop {
        match tokio::time::timeout_at(deadline, background.tasks.join_next_with_id()).await {
            Ok(None) => break,
            // Cancelled tasks are not failures: only a panic is.
            Ok(Some(Err(err))) if err.is_panic() => {
                panicked.get_or_insert(name_of(&background, err.id()));
            }
            Ok(Some(_)) => {}
            Err(_) => {
                // Aborted tasks end at their next await; those are the ones that overran.
                background.tasks.abort_all();
                while let Some(ended) = background.tasks.join_next_with_id().await {
                    match ended {
                        Err(err) if err.is_panic() => {
                            panicked.get_or_insert(name_of(&background, err.id()));
                        }
                        Err(err) => overdue.push(name_of(&background, err.id())),
                        Ok(_) => {}
                    }
                }
                break;
            }
        }
    }
    if !overdue.is_empty() {
        tracing::warn!(
            ?overdue,
            grace_seconds = grace.as_secs(),
            "still running when the stop's grace ran out; dropped"
        );
        anyhow::bail!(
            "{} did not stop within {} s of the stop and were dropped; their deliveries stay leased and go out again",
            overdue.join(", "),
            grace.as_secs()
        );
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

/// The delivery HTTP client's settings: the egress policy, and the inspector's bins trusted.
pub fn sender_config(config: &Config) -> SenderConfig {
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
    let local = format!("{}/inspect/", local_url(config.listen()));
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

#[derive(Clone)]
struct HealthState {
    store: Arc<dyn Store>,
}

fn health_router(state: HealthState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(state)
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and accepts writes.
async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
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
        supervise(server(&shutdown), background, shutdown, STOP_GRACE).await.expect("a clean stop");
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
            let err =
                supervise(server(&shutdown), background, shutdown.clone(), STOP_GRACE).await.unwrap_err().to_string();
            assert!(err.starts_with(&format!("the delivery worker {how} while the server was serving")), "{err}");
            assert!(shutdown.is_cancelled(), "the server and the other tasks were told to stop");
        }
    }

    #[tokio::test]
    async fn a_stop_that_outlasts_its_grace_drops_what_is_left_and_says_what() {
        let shutdown = CancellationToken::new();
        let mut background = Background::default();
        background.spawn("the scheduler", until(&shutdown));
        background.spawn("the delivery worker", std::future::pending());
        // A client that keeps a connection open: the server never finishes on its own.
        let held_open = std::future::pending::<std::io::Result<()>>();
        let signal = shutdown.clone();
        tokio::spawn(async move { signal.cancel() });
        let stopped = supervise(held_open, background, shutdown, Duration::from_millis(50));
        let err = tokio::time::timeout(Duration::from_secs(30), stopped)
            .await
            .expect("the grace bounds the stop")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the HTTP server (open connections), the delivery worker did not stop within"),
            "{err}"
        );
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
        let err = supervise(failing, background, shutdown.clone(), STOP_GRACE).await.unwrap_err();
        assert_eq!(format!("{err:#}"), "HTTP server: the listener failed");
        assert!(stopped.load(std::sync::atomic::Ordering::SeqCst), "the worker finished before the answer");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spawned_app_serves_at_its_own_address_and_stops_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let app = App::spawn(config(&[("SCREENHOOK_DATABASE__PATH", db.to_str().unwrap())])).await.unwrap();
        let key = app.created_sandbox().expect("a fresh database gets the sandbox company").key.clone();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let ready = http.get(format!("{}/readyz", app.url())).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let query = json!({ "query": "mutation($t: CreateCompanyTestInput!) { createCompanyTest(testFields: $t) { id } }",
            "variables": { "t": { "title": "App", "externalTitle": "App", "duration": 3_600_000.0 } } });
        let created = http.post(format!("{}/graphql", app.url())).bearer_auth(&key).json(&query).send().await.unwrap();
        assert_eq!(created.status(), 200);
        let body: serde_json::Value = created.json().await.unwrap();
        assert!(body["errors"].is_null(), "{body}");
        // Invitation links point at the address it was given.
        assert_eq!(app.engine().config.public_url, app.url());
        app.stop().await.expect("a clean stop");
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
