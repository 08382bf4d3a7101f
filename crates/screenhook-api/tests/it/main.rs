//! Integration tests of the API over real HTTP: a SQLite store in a temp dir, the engine on a
//! manual clock, the router on 127.0.0.1:0. Webhooks may target loopback, so tests can use
//! `TestReceiver`s; `App::worker` delivers on demand.
//!
//! Not `screenhook::App` (what `serve` runs, in the binary's crate): these test the API's own
//! router on a manual clock, with the pending work run on demand and an `ApiConfig` per test,
//! and `App` sits above this crate, so using it would make the API's tests build the whole
//! product.

mod bad_input;
mod certify;
mod e2e;
mod grader;
mod graphiql;
mod interviews;
mod migration;
mod operator;
mod sandbox;
mod sdl;
mod tenant;
mod test_status;
mod webhooks;

use std::sync::Arc;

use reqwest::StatusCode;
use screenhook_api::{ApiConfig, ApiState, router};
use screenhook_delivery::{DeliveryConfig, WebhookManager, Worker};
use screenhook_domain::{CompanyId, Millis, Timestamp};
use screenhook_engine::{Engine, EngineConfig, ManualClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};
use serde_json::{Value, json};

/// 2025-06-15T12:00:00Z.
pub const START: i64 = 1_750_000_000_000;
pub const INTEGRITY_DELAY: Millis = Millis::minutes(30);

pub struct App {
    pub base: String,
    pub admin_key: String,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub store: Arc<dyn Store>,
    pub company: CompanyId,
    /// Sends due deliveries when a test calls `run_pending`.
    pub worker: Worker,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> App {
    spawn_app_with(ApiConfig::default()).await
}

pub async fn spawn_app_with(config: ApiConfig) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("api.db")).await.expect("open store"));
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        EngineConfig { public_url: base.clone(), integrity_review_delay: INTEGRITY_DELAY },
    );
    let (company, key) =
        bootstrap::ensure_sandbox(&*store, &*clock).await.expect("bootstrap").expect("a fresh database");
    let egress = EgressPolicy { allow_loopback: true, ..EgressPolicy::default() };
    let sender = Sender::new(SenderConfig { egress, ..SenderConfig::default() }).expect("a delivery client");
    let worker = Worker::new(store.clone(), sender.clone(), clock.clone(), DeliveryConfig::default());
    let webhooks = WebhookManager::new(store.clone(), sender, clock.clone());
    let app = router(ApiState::new(engine.clone(), webhooks, config));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    App {
        base,
        admin_key: key.token,
        clock,
        engine,
        store,
        company: company.id,
        worker,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl App {
    /// A GraphQL call with `key`: the HTTP status and the JSON body.
    pub async fn gql_as(&self, key: &str, query: &str, variables: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }

    /// A GraphQL call with the sandbox admin key that must succeed; returns `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql_as(&self.admin_key, query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// POST to the candidate link; the status and JSON body.
    pub async fn candidate(&self, token: &str, action: &str, body: Value) -> (StatusCode, Value) {
        let res =
            self.http.post(format!("{}/c/{token}/{action}", self.base)).json(&body).send().await.expect("request");
        let status = res.status();
        (status, res.json().await.expect("JSON body"))
    }

    pub async fn create_framework_test(&self, key: &str, proctored: bool) -> Result<String, Value> {
        let (_, body) = self
            .gql_as(
                key,
                "mutation($f: CreateCompanyTestFromFrameworkInput!) { createCompanyTestFromFramework(testFields: $f) { id } }",
                json!({ "f": { "frameworkId": "general-coding", "title": "Backend GCA", "externalTitle": "Coding assessment", "proctored": proctored, "labels": ["backend"] } }),
            )
            .await;
        body["data"]["createCompanyTestFromFramework"]["id"].as_str().map(str::to_owned).ok_or(body)
    }

    pub async fn invite(&self, key: &str, test_id: &str, email: &str, greenhouse: &str) -> Value {
        let (_, body) = self
            .gql_as(
                key,
                "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id status invitationUrl } }",
                json!({ "s": {
                    "testId": test_id, "candidateFirstName": "Ada", "candidateLastName": "Lovelace",
                    "candidateEmail": email, "externalId": "ext-1",
                    "integrations": { "greenhouseApplicationId": greenhouse }
                } }),
            )
            .await;
        body["data"]["createCompanyTestSession"].clone()
    }
}

/// The candidate token at the end of an `invitationUrl`.
pub fn token_of(invitation_url: &Value) -> String {
    invitation_url.as_str().expect("an invitation URL").rsplit('/').next().expect("a token").to_owned()
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

pub fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("no error message in {body:#}"))
}
