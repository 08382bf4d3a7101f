//! The inspector over real HTTP on 127.0.0.1:0, beside the API (to create webhooks to bins)
//! and a delivery worker run on demand, on a manual clock.
//!
//! Not `screenhook::App` (what `serve` runs, in the binary's crate, whose tests run the
//! inspector as part of the whole product): `App` sits above this crate, and these tests need
//! the manual clock, the strict egress policy with only the bins trusted, and the inspector's
//! limits set per test.

mod bins;
mod lightweight;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use screenhook_api::{ApiConfig, ApiState};
use screenhook_delivery::{DeliveryConfig, WebhookManager, Worker};
use screenhook_domain::{CompanyId, EventKind, Timestamp, Webhook, WebhookId};
use screenhook_engine::{Engine, EngineConfig, ManualClock, bootstrap};
use screenhook_inspector::{Inspector, InspectorConfig};
use screenhook_store::{Store, time_ordered_id};
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};
use serde_json::Value;

/// 2025-06-15T12:00:00Z.
pub const START: i64 = 1_750_000_000_000;

pub struct App {
    pub base: String,
    pub admin_key: String,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub company: CompanyId,
    pub worker: Worker,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app(tune: impl FnOnce(&mut InspectorConfig)) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("app.db")).await.expect("open store"));
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        EngineConfig { public_url: base.clone(), integrity_review_delay: screenhook_domain::Millis::minutes(30) },
    );
    let (company, key) = bootstrap::ensure_sandbox(&*store, &*clock).await.expect("bootstrap").expect("fresh");
    let mut config = InspectorConfig::new(&base);
    tune(&mut config);
    // The strict default egress policy: loopback is refused, except the bins.
    let sender = Sender::new(SenderConfig {
        egress: EgressPolicy::default(),
        trusted_prefixes: vec![config.bin_prefix()],
        ..SenderConfig::default()
    })
    .expect("sender");
    let worker = Worker::new(store.clone(), sender.clone(), clock.clone(), DeliveryConfig::default());
    let inspector = Inspector::new(config, store.clone(), clock.clone());
    let webhooks = WebhookManager::new(store.clone(), sender, clock.clone());
    let api = ApiState::new(engine, webhooks, ApiConfig::default());
    // As the `App` wires them: the shared assets, and the security headers on every response.
    let app = inspector
        .router()
        .merge(screenhook_api::router(api))
        .merge(screenhook_web::assets::router())
        .layer(axum::middleware::from_fn(screenhook_web::security_headers));
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve")
    });
    App {
        base,
        admin_key: key.token,
        clock,
        store,
        company: company.id,
        worker,
        http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client"),
        _dir: dir,
    }
}

impl App {
    /// Creates a bin; its JSON description.
    pub async fn create_bin(&self, body: &str) -> Value {
        let res = self.http.post(format!("{}/inspect", self.base)).body(body.to_owned()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn requests(&self, bin: &str) -> (StatusCode, Value) {
        let res = self.http.get(format!("{}/inspect/{bin}/requests", self.base)).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap())
    }

    /// A webhook of the sandbox company, written straight to the store.
    pub async fn webhook(&self, url: &str, events: Vec<EventKind>, secret: Option<&str>) -> Webhook {
        let now = Timestamp::from_millis(START);
        let webhook = Webhook {
            id: WebhookId::parse(time_ordered_id("wh_", 15)).unwrap(),
            company_id: self.company.clone(),
            url: url.to_owned(),
            events,
            secret: secret.map(str::to_owned),
            retired_secrets: Vec::new(),
            owner_emails: vec!["owner@example.com".into()],
            custom_headers: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_webhook(&webhook).await.unwrap();
        webhook
    }
}
