//! The delivery worker against real receivers, a real SQLite file and a manual clock.
//!
//! Not `screenhook::App` (what `serve` runs, above this crate): these test the worker alone,
//! with no HTTP server, and drive it on demand (`run_pending`) or, in `running`, its own loop
//! with the concurrency, caps and poll each test needs.

mod emails;
mod legacy;
mod order;
mod retention;
mod retries;
mod running;
mod signing;

use std::sync::Arc;

use screenhook_delivery::{DeliveryConfig, Worker};
use screenhook_domain::{
    CompanyId, EventKind, Millis, SessionId, TestId, Timestamp, Webhook, WebhookId,
    test::{NewTest, TestCommand},
};
use screenhook_engine::{Engine, EngineConfig, InviteInput, ManualClock, bootstrap};
use screenhook_store::{DeliveryFilter, DeliveryRow, Store};
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};

pub const T0: Timestamp = Timestamp::from_millis(1_760_000_000_000);
pub const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

pub struct App {
    pub engine: Engine,
    pub clock: Arc<ManualClock>,
    pub worker: Worker,
    pub company: CompanyId,
    pub test: TestId,
    _dir: tempfile::TempDir,
}

pub async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("screenhook.db")).await.unwrap());
    let clock = Arc::new(ManualClock::new(T0));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: Millis::SECOND },
    );
    bootstrap::ensure_sandbox(&*store, &*clock).await.unwrap();
    let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap();
    let sender = Sender::new(SenderConfig {
        // Receivers in tests listen on loopback; the guard itself is tested in the webhooks crate.
        egress: EgressPolicy { allow_loopback: true, ..EgressPolicy::default() },
        ..SenderConfig::default()
    })
    .unwrap();
    let worker = Worker::new(store.clone(), sender, clock.clone(), DeliveryConfig::default());
    let test = engine
        .create_test(
            &company,
            TestCommand::Create(NewTest {
                id: TestId::parse("placeholder").unwrap(),
                company_id: company.clone(),
                title: "Take-home".into(),
                external_title: "Take-home".into(),
                internal_description: None,
                proctored: false,
                duration: Millis::minutes(90),
                default_expiration: None,
                labels: vec![],
            }),
        )
        .await
        .unwrap()
        .0
        .id;
    App { engine, clock, worker, company, test, _dir: dir }
}

impl App {
    pub fn store(&self) -> &dyn Store {
        &*self.engine.store
    }

    pub async fn webhook(&self, id: &str, url: &str, events: &[EventKind]) -> Webhook {
        let webhook = Webhook {
            id: WebhookId::parse(id).unwrap(),
            company_id: self.company.clone(),
            url: url.to_owned(),
            events: events.to_vec(),
            secret: Some(SECRET.to_owned()),
            retired_secrets: Vec::new(),
            owner_emails: vec!["owner@example.com".into(), "oncall@example.com".into()],
            custom_headers: vec![("X-Team".into(), "hiring".into())],
            created_at: T0,
            updated_at: T0,
        };
        self.store().insert_webhook(&webhook).await.unwrap();
        webhook
    }

    pub async fn invite(&self, email: &str) -> SessionId {
        let input = InviteInput {
            test_id: self.test.clone(),
            candidate_first_name: "Jane".into(),
            candidate_last_name: "Doe".into(),
            candidate_email: email.into(),
            external_id: Some("ats-42".into()),
            expire_duration: None,
            custom_duration: None,
            integrations: Default::default(),
            prefer_existing: false,
        };
        self.engine.invite(&self.company, input).await.unwrap().session.id
    }

    pub async fn log(&self, webhook: &str) -> Vec<DeliveryRow> {
        let filter =
            DeliveryFilter { webhook: Some(WebhookId::parse(webhook).unwrap()), limit: 1000, ..Default::default() };
        let mut rows = self.store().deliveries(&self.company, &filter).await.unwrap();
        rows.reverse();
        rows
    }
}

/// The parsed JSON body of a received request.
pub fn body(received: &screenhook_testkit::Received) -> serde_json::Value {
    serde_json::from_slice(&received.body).expect("a JSON body")
}
