//! Crash safety (issue 3): `kill -9` the real server again and again while events flow to a real
//! receiver, keep a Jepsen-style ledger of every invocation (`invoke`, then `ok`, `fail` or
//! `info`), and after a drain check that
//! - I1: every acknowledged (`ok`) event was delivered at least once;
//! - I2: all copies of one event share one `webhook-id`, and one id means one event;
//! - I3: nothing arrived that was never asked for (only `ok` or `info` invocations appear);
//! - I4: every delivery carries both signatures, valid for the webhook's secret and URL;
//! - and each session's `companyTestSessionCreated` first arrived before its `…Started`.

mod support;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use reqwest::Client;
use screenhook_testkit::{Received, TestReceiver};
use screenhook_webhooks::signature::{
    CODESIGNAL_SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECS, SignedHeaders, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER, WebhookSecret, verify, verify_codesignal_signature,
};
use serde_json::{Value, json};
use support::{free_port, printed_api_key};
use tokio::sync::watch;

const KILLS: usize = 9;
/// Load clients; each fires at most one invitation per `PACE`, so the run stays at a few
/// thousand events (≈ 200 invitations/s plus starts) however fast the machine is.
const CLIENTS: usize = 4;
const PACE: Duration = Duration::from_millis(20);
/// The delivery lease, at the smallest value the server accepts. The default (120 s) is sized for
/// multi-process deployments, where a restarted process cannot know the claims of the one that
/// died; here it only bounds how long the dead process's in-flight deliveries wait before they
/// are claimed again, and so how long the drain takes.
const LEASE_MS: u64 = 15_000;
const CREATED: &str = "companyTestSessionCreated";
const STARTED: &str = "companyTestSessionStarted";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_event() {
    let began = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let receiver = TestReceiver::start().await;
    let hook_url = receiver.url("/hook");

    let mut server = Server::start(dir.path().join("screenhook.db")).await;
    let key = server.api_key.clone().expect("the first start prints the sandbox key");
    let http = Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let setup = |query: &'static str, variables: Value| {
        let (http, key, base) = (http.clone(), key.clone(), server.base());
        async move {
            match graphql(&http, &base, &key, query, variables).await {
                Sent::Ok(data) => data,
                other => panic!("setup failed: {other:?}"),
            }
        }
    };
    let created = setup(
        "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { secret } }",
        json!({ "w": { "url": hook_url, "events": [CREATED, STARTED] } }),
    )
    .await;
    let secret = created["createWebhook"]["secret"].as_str().expect("the webhook's secret").to_owned();
    let test = setup(
        "mutation($t: CreateCompanyTestInput!) { createCompanyTest(testFields: $t) { id } }",
        json!({ "t": { "title": "Crash test", "externalTitle": "Crash test", "duration": 3_600_000.0 } }),
    )
    .await;
    let test_id = test["createCompanyTest"]["id"].as_str().expect("the test's id").to_owned();

    // The load: clients follow the server through restarts via `base`.
    let (base_tx, base_rx) = watch::channel(server.base());
    let ledger = Arc::new(Mutex::new(BTreeMap::<u64, Entry>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let next_seq = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let load = Load {
                http: http.clone(),
                key: key.clone(),
                test_id: test_id.clone(),
                base: base_rx.clone(),
                ledger: ledger.clone(),
                stop: stop.clone(),
                next_seq: next_seq.clone(),
            };
            tokio::spawn(load.run())
        })
        .collect();

    // The killer: SIGKILL every 1–2 s (randomized), restart at once on the same database.
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_nanos() as u64 | 1;
    let mut rng = XorShift(seed);
    let mut restart_times = Vec::new();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(1_000 + rng.next() % 1_000)).await;
        let restarted = Instant::now();
        server.kill_and_restart().await;
        restart_times.push(restarted.elapsed());
        base_tx.send_replace(server.base());
    }
    let last_restart = Instant::now();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("a load client finished");
    }
    let ledger = Arc::try_unwrap(ledger).expect("clients are done").into_inner().expect("not poisoned");

    // What must arrive: one event per `ok` invocation, identified by session and event name.
    let mut expected = HashSet::new();
    for entry in ledger.values() {
        if let (Outcome::Ok, Some(session)) = (&entry.invite, &entry.session) {
            expected.insert((session.clone(), CREATED));
            if let Some(Outcome::Ok) = entry.start {
                expected.insert((session.clone(), STARTED));
            }
        }
    }

    // The drain: wait until every `ok` event arrived, the dead process's leases ran out, and
    // the receiver's count stopped growing.
    let drain_deadline = last_restart + Duration::from_secs(60);
    let leases_expired = last_restart + Duration::from_millis(LEASE_MS + 1_000);
    let mut last_count = usize::MAX;
    let received = loop {
        let received = receiver.received();
        let arrived: HashSet<(String, &str)> = deliveries(&received)
            .filter_map(|(_, body)| Some((body["payload"]["testSessionId"].as_str()?.to_owned(), event_name(&body)?)))
            .collect();
        let all_ok_arrived = expected.iter().all(|e| arrived.contains(e));
        let now = Instant::now();
        if all_ok_arrived && now >= leases_expired && received.len() == last_count {
            break received;
        }
        if now >= drain_deadline {
            let missing: Vec<_> = expected.iter().filter(|e| !arrived.contains(*e)).take(20).collect();
            panic!(
                "I1 (no loss) violated: {} of {} acknowledged events never arrived within 60 s of the last restart; \
                 first ones: {missing:?}",
                expected.iter().filter(|e| !arrived.contains(*e)).count(),
                expected.len()
            );
        }
        last_count = received.len();
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(server);

    let report = check(&ledger, &expected, &received, &secret, &hook_url);
    let fired = ledger.len() + ledger.values().filter(|e| e.start.is_some()).count();
    let outcomes = || ledger.values().flat_map(|e| std::iter::once(&e.invite).chain(e.start.as_ref()));
    let count = |pick: fn(&Outcome) -> bool| outcomes().filter(|o| pick(o)).count();
    let slowest_restart = restart_times.iter().max().expect("restarts happened");
    eprintln!(
        "crash test: seed {seed}; {KILLS} kills; invocations fired {fired} (ok {}, fail {}, info {}); \
         events expected {}; deliveries {} ({} distinct webhook-ids, {} duplicates); \
         slowest kill-to-ready {slowest_restart:?}; total {:?}",
        count(|o| matches!(o, Outcome::Ok)),
        count(|o| matches!(o, Outcome::Fail(_))),
        count(|o| matches!(o, Outcome::Info(_))),
        expected.len(),
        report.deliveries,
        report.distinct_ids,
        report.deliveries - report.distinct_ids,
        began.elapsed(),
    );
    // One example of each indeterminate or refused outcome, to tell a crash from a bug.
    if let Some(why) = outcomes().find_map(|o| if let Outcome::Info(why) = o { Some(why) } else { None }) {
        eprintln!("crash test: an info outcome: {why}");
    }
    if let Some(why) = outcomes().find_map(|o| if let Outcome::Fail(why) = o { Some(why) } else { None }) {
        eprintln!("crash test: a fail outcome: {why}");
    }
    // A run where nothing succeeded would check nothing.
    assert!(
        expected.iter().filter(|(_, event)| *event == STARTED).count() >= 100,
        "too few acknowledged events to test anything: {} expected",
        expected.len()
    );
    assert!(
        report.problems.is_empty(),
        "{} invariant violations (the first 50):\n{}",
        report.problems.len(),
        report.problems[..report.problems.len().min(50)].join("\n")
    );
}

/// One ledger line: an invitation (`createCompanyTestSession`, `externalId` = its sequence
/// number) and, for every other `ok` one, the candidate's start.
#[derive(Debug)]
struct Entry {
    invite: Outcome,
    session: Option<String>,
    start: Option<Outcome>,
}

#[derive(Debug)]
enum Outcome {
    Ok,
    /// A definite refusal: nothing may have happened.
    Fail(String),
    /// The outcome is unknown (connection lost after sending, timeout, 5xx).
    Info(String),
}

/// What became of one HTTP request.
#[derive(Debug)]
enum Sent {
    Ok(Value),
    Fail(String),
    Info(String),
    /// Nothing was sent (connection refused): safe to send again.
    Refused,
}

impl Sent {
    fn outcome(self) -> (Outcome, Option<Value>) {
        match self {
            Sent::Ok(value) => (Outcome::Ok, Some(value)),
            Sent::Fail(why) => (Outcome::Fail(why), None),
            Sent::Info(why) => (Outcome::Info(why), None),
            Sent::Refused => unreachable!("requests are resent until they are sent"),
        }
    }
}

async fn post(http: &Client, url: &str, key: Option<&str>, body: Vec<u8>) -> Sent {
    let mut request = http.post(url).header("content-type", "application/json").body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) if err.is_connect() => return Sent::Refused,
        Err(err) => return Sent::Info(format!("{err:?}")),
    };
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(err) => return Sent::Info(format!("reading the answer: {err:?}")),
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if status.is_server_error() {
        return Sent::Info(format!("{status}: {text}"));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) if status.is_success() && value.get("errors").is_none() => Sent::Ok(value),
        _ => Sent::Fail(format!("{status}: {text}")),
    }
}

async fn graphql(http: &Client, base: &str, key: &str, query: &str, variables: Value) -> Sent {
    let body = serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON encodes");
    match post(http, &format!("{base}/graphql"), Some(key), body).await {
        Sent::Ok(value) => Sent::Ok(value["data"].clone()),
        other => other,
    }
}

struct Load {
    http: Client,
    key: String,
    test_id: String,
    base: watch::Receiver<String>,
    ledger: Arc<Mutex<BTreeMap<u64, Entry>>>,
    stop: Arc<AtomicBool>,
    next_seq: Arc<AtomicU64>,
}

impl Load {
    async fn run(mut self) {
        let mut pace = tokio::time::interval(PACE);
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stop.load(Ordering::SeqCst) {
            pace.tick().await;
            let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
            let variables = json!({ "s": {
                "testId": self.test_id,
                "candidateFirstName": "Crash",
                "candidateLastName": format!("Candidate {seq}"),
                "candidateEmail": format!("candidate{seq}@example.com"),
                "externalId": seq.to_string(),
            } });
            let (invite, data) = self
                .until_sent(|http, base, key| {
                    let variables = variables.clone();
                    async move {
                        graphql(
                            &http,
                            &base,
                            &key,
                            "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id invitationUrl } }",
                            variables,
                        )
                        .await
                    }
                })
                .await
                .outcome();
            let created = data.map(|d| d["createCompanyTestSession"].clone());
            let session = created.as_ref().and_then(|c| c["id"].as_str()).map(str::to_owned);
            let token = created
                .as_ref()
                .and_then(|c| c["invitationUrl"].as_str()?.rsplit_once("/c/"))
                .map(|(_, t)| t.to_owned());
            // Every other invited candidate starts, so sessions have a sequence of two events.
            let start = match token {
                Some(token) if seq.is_multiple_of(2) => Some(
                    self.until_sent(|http, base, _| {
                        let url = format!("{base}/c/{token}/start");
                        async move { post(&http, &url, None, Vec::new()).await }
                    })
                    .await
                    .outcome()
                    .0,
                ),
                _ => None,
            };
            self.ledger.lock().expect("not poisoned").insert(seq, Entry { invite, session, start });
        }
    }

    /// Sends until the request reached the server, following it to its current address.
    async fn until_sent<F, Fut>(&mut self, send: F) -> Sent
    where
        F: Fn(Client, String, String) -> Fut,
        Fut: Future<Output = Sent>,
    {
        loop {
            let base = self.base.borrow_and_update().clone();
            match send(self.http.clone(), base, self.key.clone()).await {
                // After the last restart the server must stay up; fail rather than hang.
                Sent::Refused if self.stop.load(Ordering::SeqCst) => {
                    panic!("the server refused connections after the last restart")
                }
                // Down: wait for the killer to announce the restart (or retry shortly).
                Sent::Refused => {
                    let _ = tokio::time::timeout(Duration::from_millis(100), self.base.changed()).await;
                }
                sent => return sent,
            }
        }
    }
}

struct Report {
    deliveries: usize,
    distinct_ids: usize,
    problems: Vec<String>,
}

/// Every request but the verification ping (the one with an empty body), with its body.
fn deliveries(received: &[Received]) -> impl Iterator<Item = (&Received, Value)> {
    received.iter().filter(|r| !r.body.is_empty()).map(|r| (r, serde_json::from_slice(&r.body).unwrap_or(Value::Null)))
}

fn event_name(body: &Value) -> Option<&'static str> {
    match body["event"].as_str()? {
        CREATED => Some(CREATED),
        STARTED => Some(STARTED),
        _ => None,
    }
}

fn check(
    ledger: &BTreeMap<u64, Entry>,
    expected: &HashSet<(String, &'static str)>,
    received: &[Received],
    secret: &str,
    hook_url: &str,
) -> Report {
    let mut problems = Vec::new();
    let standard_key = WebhookSecret::parse(secret).expect("a generated whsec_ secret");
    let now_secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let mut ids_of_event: HashMap<(String, &str), HashSet<String>> = HashMap::new();
    let mut events_of_id: HashMap<String, HashSet<(String, &str)>> = HashMap::new();
    let mut first_arrival: HashMap<(String, &str), usize> = HashMap::new();
    let mut count = 0;
    for (index, (request, body)) in deliveries(received).enumerate() {
        count += 1;
        let Some(event) = event_name(&body) else {
            problems.push(format!("delivery #{index}: unexpected body {body}"));
            continue;
        };
        let session = body["payload"]["testSessionId"].as_str().unwrap_or_default().to_owned();
        let id = request.header(WEBHOOK_ID_HEADER).unwrap_or_default().to_owned();

        // I3: the delivery belongs to an invocation that succeeded or may have.
        let entry =
            body["payload"]["externalId"].as_str().and_then(|s| s.parse().ok()).and_then(|seq| ledger.get(&seq));
        let invocation = match (entry, event) {
            (None, _) => None,
            (Some(entry), CREATED) => Some(&entry.invite),
            (Some(entry), _) => entry.start.as_ref(),
        };
        match (invocation, entry) {
            (Some(Outcome::Ok | Outcome::Info(_)), Some(entry))
                if entry.session.is_none() || entry.session.as_deref() == Some(session.as_str()) => {}
            _ => problems.push(format!(
                "I3 (no phantom) violated: {event} of session {session} (webhook-id {id}) matches no ok or info \
                 invocation; ledger entry: {entry:?}"
            )),
        }

        // I4: both signatures verify.
        let triggered_on = match &body["triggeredOn"] {
            Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap_or_default().to_owned(),
        };
        let codesignal = request.header(CODESIGNAL_SIGNATURE_HEADER).unwrap_or_default();
        if !verify_codesignal_signature(secret, hook_url, event, &triggered_on, codesignal) {
            problems.push(format!(
                "I4 violated: X-CodeSignal-Signature of {event} / {session} (webhook-id {id}) does not verify"
            ));
        }
        let headers = SignedHeaders {
            id: request.header(WEBHOOK_ID_HEADER),
            timestamp: request.header(WEBHOOK_TIMESTAMP_HEADER),
            signature: request.header(WEBHOOK_SIGNATURE_HEADER),
        };
        if let Err(err) =
            verify(std::slice::from_ref(&standard_key), headers, &request.body, now_secs, DEFAULT_TOLERANCE_SECS)
        {
            problems.push(format!("I4 violated: webhook-signature of {event} / {session} (webhook-id {id}): {err}"));
        }

        ids_of_event.entry((session.clone(), event)).or_default().insert(id.clone());
        events_of_id.entry(id).or_default().insert((session.clone(), event));
        first_arrival.entry((session, event)).or_insert(index);
    }

    // I1 is checked by the drain; repeat it here so the report stands on its own.
    for missing in expected.iter().filter(|e| !ids_of_event.contains_key(*e)) {
        problems.push(format!("I1 (no loss) violated: acknowledged {missing:?} never arrived"));
    }
    // I2: one event, one webhook-id; one webhook-id, one event.
    for (event, ids) in ids_of_event.iter().filter(|(_, ids)| ids.len() > 1) {
        problems.push(format!("I2 violated: {event:?} arrived under several webhook-ids {ids:?}"));
    }
    for (id, events) in events_of_id.iter().filter(|(_, events)| events.len() > 1) {
        problems.push(format!("I2 violated: webhook-id {id:?} carried several events {events:?}"));
    }
    // Per-session order: a session's start never first arrives before its creation.
    for ((session, event), started_at) in &first_arrival {
        if *event != STARTED {
            continue;
        }
        match first_arrival.get(&(session.clone(), CREATED)) {
            Some(created_at) if created_at < started_at => {}
            created_at => problems.push(format!(
                "order violated: session {session}: {STARTED} first arrived at #{started_at}, {CREATED} at {created_at:?}"
            )),
        }
    }
    Report { deliveries: count, distinct_ids: events_of_id.len(), problems }
}

/// The `screenhook serve` child process.
struct Server {
    db: PathBuf,
    port: u16,
    child: Child,
    api_key: Option<String>,
}

impl Server {
    async fn start(db: PathBuf) -> Server {
        let port = free_port();
        let mut child = spawn(&db, port, Stdio::piped());
        let key = printed_api_key(&mut child).await;
        let mut server = Server { db, port, child, api_key: Some(key) };
        assert!(server.wait_ready().await, "the server did not become ready");
        server
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, then start again on the same database: on the same port when it can be bound
    /// again, else on a new one.
    async fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
        for _ in 0..5 {
            self.child = spawn(&self.db, self.port, Stdio::null());
            if self.wait_ready().await {
                return;
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.port = free_port();
        }
        panic!("the server did not restart after a kill");
    }

    /// Polls `/readyz`; false when the process exited first (the port could not be bound).
    async fn wait_ready(&mut self) -> bool {
        let http = Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().expect("an HTTP client");
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/readyz", self.base());
        while Instant::now() < deadline {
            if self.child.try_wait().expect("the child's status").is_some() {
                return false;
            }
            if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(db: &Path, port: u16, stdout: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_screenhook"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database"])
        .arg(db)
        .env("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")
        .env("SCREENHOOK_DELIVERY__LEASE_MS", LEASE_MS.to_string())
        .env("SCREENHOOK_API__RATE_LIMIT_PER_SECOND", "1000000")
        .env("SCREENHOOK_API__RATE_LIMIT_BURST", "1000000")
        .env("SCREENHOOK_LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the screenhook binary")
}

/// Randomizes the killer's pacing without a dependency; the seed is printed with the results.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
