//! Several `screenhook serve` processes on one PostgreSQL database share the work safely: events
//! fired through the GraphQL API of all of them, one process killed with `kill -9` midway, and
//! still every event is delivered at least once to a real receiver, duplicates only under the
//! same `webhook-id`, each session's events in firing order, and each expiry fired once.
//!
//! Runs when `TEST_DATABASE_URL` names a PostgreSQL database whose role may create databases
//! (`.ci/run` sets it up); otherwise it prints a notice and passes. `SCREENHOOK_MP_SESSIONS`
//! changes the number of sessions (two events each; 1,000 by default, so CI stays fast):
//!
//! ```sh
//! SCREENHOOK_MP_SESSIONS=10000 TEST_DATABASE_URL=postgres://screenhook:screenhook@127.0.0.1:5432/screenhook_test \
//!     cargo test --release -p screenhook --test postgres_processes -- --nocapture
//! ```

mod support;

use std::{
    collections::{HashMap, HashSet},
    io::Write,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use screenhook_domain::{
    CompanyId, EventKind, Millis, Webhook, WebhookId,
    test::{NewTest, TestCommand},
};
use screenhook_engine::{Engine, EngineConfig, SystemClock, bootstrap};
use screenhook_store::Store;
use screenhook_store_postgres::{PgOptions, PgStore};
use screenhook_testkit::TestReceiver;
use support::PgDatabase;

const PROCESSES: usize = 3;
const CONCURRENCY: usize = 16;
/// What every process seals webhook secrets with: the same key, or none could sign.
const SECRETS_KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

/// The shortest lease the configuration allows: a killed process's claims come back this soon.
const LEASE_MS: &str = "15000";

struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    fn start(url: &str, logs: &std::path::Path, n: usize) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = logs.join(format!("server-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_screenhook"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", url])
            .env("SCREENHOOK_DATABASE__MIGRATE_ON_START", "false")
            .env("SCREENHOOK_SECRETS__KEY", SECRETS_KEY)
            .env("SCREENHOOK_DATABASE__MAX_CONNECTIONS", "8")
            .env("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")
            .env("SCREENHOOK_DELIVERY__LEASE_MS", LEASE_MS)
            .env("SCREENHOOK_API__RATE_LIMIT_PER_SECOND", "1000000")
            .env("SCREENHOOK_API__RATE_LIMIT_BURST", "1000000")
            .env("SCREENHOOK_LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start screenhook serve");
        Server { child, base: format!("http://127.0.0.1:{port}"), log }
    }

    async fn ready(&self, http: &reqwest::Client) {
        for _ in 0..400 {
            if let Ok(res) = http.get(format!("{}/readyz", self.base)).send().await
                && res.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} did not become ready:\n{}", self.base, std::fs::read_to_string(&self.log).unwrap_or_default());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sandbox company's API key, a Pre-Screen and a webhook to `receiver` for both events
/// each session fires here.
async fn prepare(store: Arc<dyn Store>, receiver: &str) -> (String, String) {
    let (_, key) = bootstrap::ensure_sandbox(&*store, &SystemClock).await.unwrap().expect("a fresh database");
    let engine = Engine::new(
        store.clone(),
        Arc::new(SystemClock),
        EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: Millis::SECOND },
    );
    let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap();
    let test = engine
        .create_test(
            &company,
            TestCommand::Create(NewTest {
                id: screenhook_engine::commands::new_test_id(),
                company_id: company.clone(),
                title: "Several processes".into(),
                external_title: "Several processes".into(),
                internal_description: None,
                proctored: false,
                duration: Millis::minutes(60),
                default_expiration: None,
                labels: vec![],
            }),
        )
        .await
        .unwrap()
        .0;
    let now = screenhook_engine::Clock::now(&SystemClock);
    store
        .insert_webhook(&Webhook {
            id: WebhookId::parse("wh_processes").unwrap(),
            company_id: company,
            url: receiver.to_owned(),
            events: vec![EventKind::CompanyTestSessionCreated, EventKind::PreScreenExpired],
            secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
            retired_secrets: Vec::new(),
            owner_emails: vec![],
            custom_headers: vec![],
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    (key.token, test.id.to_string())
}

/// Posts one GraphQL operation to the first live server, from `first` on, moving to the next
/// one when a server does not answer. Returns the response's `data`.
async fn graphql(
    http: &reqwest::Client,
    bases: &[String],
    first: usize,
    key: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    for attempt in 0..bases.len() * 20 {
        let base = &bases[(first + attempt) % bases.len()];
        let sent = http
            .post(format!("{base}/graphql"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let Ok(res) = sent else { continue };
        let Ok(bytes) = res.bytes().await else { continue };
        let answer: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON answer");
        assert!(answer.get("errors").is_none(), "{answer}");
        return answer["data"].clone();
    }
    panic!("no server answered {body}");
}

fn keys() -> screenhook_store::SecretKeys {
    screenhook_store::SecretKeys::parse(("SECRETS_KEY", SECRETS_KEY), &[]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_the_work_and_survive_a_kill() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        // Straight to stderr: libtest captures eprintln! of passing tests, and a skip must show.
        let _ = writeln!(std::io::stderr(), "skipped: set TEST_DATABASE_URL to run the multi-process PostgreSQL test");
        return;
    };
    let sessions: usize = std::env::var("SCREENHOOK_MP_SESSIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let database = PgDatabase::create(&admin).await;
    let store: Arc<dyn Store> = Arc::new(PgStore::connect(&database.url, PgOptions::default(), keys()).await.unwrap());
    let receiver = TestReceiver::start().await;
    let (key, test_id) = prepare(store.clone(), &receiver.url("/hook")).await;

    let logs = tempfile::tempdir().unwrap();
    let mut servers: Vec<Server> = (0..PROCESSES).map(|n| Server::start(&database.url, logs.path(), n)).collect();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    for server in &servers {
        server.ready(&http).await;
    }
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
    let started = Instant::now();

    // Invitations spread round-robin over the servers; a request to a dead server goes to the
    // next one, and preferExisting makes a retry of an invitation that did commit harmless.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut firing = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, bases, next, done, key, test_id) =
            (http.clone(), bases.clone(), next.clone(), done.clone(), key.clone(), test_id.clone());
        firing.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= sessions {
                    return;
                }
                let body = serde_json::json!({
                    "query": "mutation($f: TestSessionInput!) { createCompanyTestSession(sessionFields: $f) { id } }",
                    "variables": { "f": {
                        "testId": test_id,
                        "candidateFirstName": "Process",
                        "candidateEmail": format!("candidate{n}@example.com"),
                        "externalId": n.to_string(),
                        "preferExisting": true,
                    }}
                });
                graphql(&http, &bases, n, &key, &body).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    while done.load(Ordering::Relaxed) < sessions / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // kill -9: no graceful stop, its leases and in-flight requests are simply lost.
    servers[1].child.kill().unwrap();
    servers[1].child.wait().unwrap();
    for task in firing {
        task.await.unwrap();
    }
    let fired = started.elapsed();

    // Every session expires: the survivors' schedulers race to fire the expiries.
    let advance = serde_json::json!({ "query": "mutation { advanceSandboxClock(by: 1296000000) { now } }" });
    graphql(&http, &bases, 0, &key, &advance).await;

    // Wait until every committed event has arrived at least once.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (events, received) = loop {
        // The test's own creation fired an event no webhook subscribes to.
        let events: Vec<_> =
            store.events_after(0, u32::MAX).await.unwrap().into_iter().filter(|e| e.session_id.is_some()).collect();
        let expected = sessions * 2;
        let received = receiver.received();
        let arrived: HashSet<&str> = received.iter().filter_map(|r| r.header("webhook-id")).collect();
        if events.len() >= expected && events.iter().all(|e| arrived.contains(e.id.as_str())) {
            break (events, received);
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = servers
                .iter()
                .map(|s| {
                    std::fs::read_to_string(&s.log).unwrap_or_default().lines().take(20).collect::<Vec<_>>().join("\n")
                })
                .collect();
            panic!(
                "{} events committed ({expected} expected), {} of them delivered; server logs:\n{}",
                events.len(),
                events.iter().filter(|e| arrived.contains(e.id.as_str())).count(),
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let delivered = started.elapsed();

    // Each session fired exactly one invitation and one expiry.
    let mut per_session: HashMap<String, Vec<EventKind>> = HashMap::new();
    for event in &events {
        per_session.entry(event.session_id.as_ref().unwrap().to_string()).or_default().push(event.kind);
    }
    assert_eq!(per_session.len(), sessions, "one session per invitation, retries included");
    for (session, kinds) in &per_session {
        assert_eq!(
            kinds,
            &[EventKind::CompanyTestSessionCreated, EventKind::PreScreenExpired],
            "session {session}: created once, expired once"
        );
    }

    // Duplicates only under the same webhook-id: an id always carries the same event.
    let by_id: HashMap<&str, _> = events.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut bodies: HashMap<&str, &[u8]> = HashMap::new();
    for r in &received {
        let id = r.header("webhook-id").expect("every delivery has a webhook-id");
        assert!(by_id.contains_key(id), "{id} is not a committed event");
        let body = bodies.entry(id).or_insert(&r.body[..]);
        assert_eq!(*body, &r.body[..], "{id} was delivered with two different bodies");
    }

    // Per-session order: an expiry is sent only after its invitation was delivered for good.
    let mut last_created: HashMap<String, usize> = HashMap::new();
    let mut first_expired: HashMap<String, usize> = HashMap::new();
    for (at, r) in received.iter().enumerate() {
        let event = by_id[r.header("webhook-id").unwrap()];
        let session = event.session_id.as_ref().unwrap().to_string();
        match event.kind {
            EventKind::CompanyTestSessionCreated => {
                last_created.insert(session, at);
            }
            _ => {
                first_expired.entry(session).or_insert(at);
            }
        }
    }
    for (session, expired) in &first_expired {
        assert!(last_created[session] < *expired, "session {session}: its expiry arrived before its invitation");
    }

    eprintln!(
        "{PROCESSES} processes, one killed: {} events fired in {:.1} s, all delivered after {:.1} s, {} duplicate deliveries",
        events.len(),
        fired.as_secs_f64(),
        delivered.as_secs_f64(),
        received.len() - events.len()
    );
    // The servers and the store go first (declared after the database), then the database.
}
