//! The simulator against a fresh, real server in this process: SQLite in a temp dir, the API,
//! the inspector, the delivery worker and the scheduler running on the system clock, on
//! 127.0.0.1:0 — everything `screenhook serve` runs, with a short integrity delay so the
//! non-proctored path takes milliseconds rather than 5 s.

mod faults;
mod paths;

use std::{sync::Arc, time::Duration};

use screenhook_api::{ApiConfig, ApiState};
use screenhook_delivery::{DeliveryConfig, WebhookManager, Worker};
use screenhook_domain::Millis;
use screenhook_engine::{Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_inspector::{Inspector, InspectorConfig};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};
use tokio_util::sync::CancellationToken;

pub struct Server {
    pub base: String,
    pub key: String,
    pub store: Arc<dyn Store>,
    _shutdown: tokio_util::sync::DropGuard,
    _dir: tempfile::TempDir,
}

/// `allow_loopback: false` is `serve`'s default: the simulator's bin is then reachable only
/// as a trusted prefix, as in production. Tests with receivers of their own need `true`.
pub async fn spawn_server(allow_loopback: bool) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("sim.db")).await.expect("open store"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let clock = Arc::new(SystemClock);
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        EngineConfig { public_url: base.clone(), integrity_review_delay: Millis::from_millis(200) },
    );
    let (_, key) = bootstrap::ensure_sandbox(&*store, &*clock).await.expect("bootstrap").expect("a fresh database");
    let inspector_config = InspectorConfig::new(&base);
    let sender = Sender::new(SenderConfig {
        egress: EgressPolicy { allow_loopback, ..EgressPolicy::default() },
        trusted_prefixes: vec![inspector_config.bin_prefix()],
        ..SenderConfig::default()
    })
    .expect("a delivery client");
    let delivery = DeliveryConfig { poll_interval: Duration::from_millis(50), ..DeliveryConfig::default() };
    let worker = Worker::new(store.clone(), sender.clone(), clock.clone(), delivery);
    let shutdown = CancellationToken::new();
    tokio::spawn(worker.run(shutdown.clone()));
    tokio::spawn(engine.clone().run_scheduler(Duration::from_millis(50), shutdown.clone()));
    let api =
        ApiState::new(engine.clone(), WebhookManager::new(store.clone(), sender, clock.clone()), ApiConfig::default());
    let inspector = Inspector::new(inspector_config, store.clone(), clock.clone());
    let app = screenhook_api::router(api).merge(inspector.router());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Server { base, key: key.token, store, _shutdown: shutdown.drop_guard(), _dir: dir }
}
