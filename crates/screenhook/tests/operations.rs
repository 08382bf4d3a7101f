//! Operating the real binary: Prometheus metrics at `/metrics`, one JSON log line per HTTP
//! request (with the route pattern, never a candidate link's token), a SIGTERM during
//! deliveries that finishes the requests in flight and records them, no secret in the database
//! file, its WAL or the logs, and `screenhook keys` and `screenhook companies` on SQLite and
//! PostgreSQL beside a running server.

mod support;

use std::{
    collections::HashSet,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use reqwest::Client;
use screenhook_testkit::TestReceiver;
use serde_json::{Value, json};
use support::{free_port, printed_api_key};

const CREATED: &str = "companyTestSessionCreated";
const METRICS_TOKEN: &str = "scrape-token-for-tests";
/// What a server on PostgreSQL seals webhook secrets with (it refuses to start without one).
const SECRETS_KEY: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_server_did_and_every_request_is_logged() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log_path = dir.path().join("server.log");
    let receiver = TestReceiver::start().await;
    let port = free_port();
    let log = std::fs::File::create(&log_path).expect("a log file");
    let mut child =
        spawn(&dir.path().join("screenhook.db"), port, &[("SCREENHOOK_LOG__FILTER", "info")], Stdio::from(log));
    let key = printed_api_key(&mut child).await;
    let server = Running { child, base: format!("http://127.0.0.1:{port}") };
    let http = client();
    server.wait_ready(&http).await;

    graphql(
        &http,
        &server.base,
        &key,
        "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { secret } }",
        json!({ "w": { "url": receiver.url("/hook"), "events": [CREATED] } }),
    )
    .await;
    let test_id = create_test(&http, &server.base, &key).await;
    let sessions = invite(&http, &server.base, &key, &test_id, 3).await;
    // The candidate opens their link: its path is a credential.
    let token = sessions[0].1.rsplit_once("/c/").expect("a candidate link").1.to_owned();
    let page = http.get(format!("{}/c/{token}", server.base)).send().await.expect("the candidate page");
    assert!(page.status().is_success());
    // The verification ping and the three invitations.
    receiver.wait_for(4).await;

    let unauthorized = http.get(format!("{}/metrics", server.base)).send().await.expect("a scrape");
    assert_eq!(unauthorized.status(), 401, "the metrics token is required");
    // An attempt is counted when its answer comes and recorded in the store just after:
    // scrape until both caught up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = scrape(&http, &server.base).await;
        if value(&text, "screenhook_delivery_attempts_total{outcome=\"delivered\"}") == Some(3.0)
            && value(&text, "screenhook_delivery_queue_depth{state=\"in_flight\"}") == Some(0.0)
        {
            break text;
        }
        assert!(Instant::now() < deadline, "the three deliveries were never counted and recorded:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let expect = |series: &str, want: f64| {
        assert_eq!(value(&text, series), Some(want), "{series} in:\n{text}");
    };
    expect(&format!("screenhook_events_fired_total{{event=\"{CREATED}\"}}"), 3.0);
    expect(
        "screenhook_graphql_operations_total{type=\"mutation\",field=\"createCompanyTestSession\",outcome=\"ok\"}",
        3.0,
    );
    expect("screenhook_graphql_operations_total{type=\"mutation\",field=\"createWebhook\",outcome=\"ok\"}", 1.0);
    expect("screenhook_http_requests_total{method=\"POST\",route=\"/graphql\",status=\"200\"}", 5.0);
    expect("screenhook_http_requests_total{method=\"GET\",route=\"/c/{token}\",status=\"200\"}", 1.0);
    expect("screenhook_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"}", 1.0);
    expect("screenhook_http_request_duration_seconds_count{route=\"/graphql\"}", 5.0);
    expect("screenhook_delivery_attempt_duration_seconds_count", 3.0);
    expect("screenhook_webhooks{health=\"active\"}", 1.0);
    expect("screenhook_webhooks{health=\"disabled\"}", 0.0);
    for state in ["due", "scheduled", "in_flight", "waiting", "paused"] {
        expect(&format!("screenhook_delivery_queue_depth{{state=\"{state}\"}}"), 0.0);
    }
    expect("screenhook_delivery_due_lag_seconds", 0.0);
    assert!(text.contains("# TYPE screenhook_delivery_attempt_duration_seconds histogram"), "{text}");

    // A refused document is counted without the fields it names.
    let refused = http
        .post(format!("{}/graphql", server.base))
        .bearer_auth(&key)
        .json(&json!({ "query": "{ noSuchField }" }))
        .send()
        .await
        .expect("a refused query");
    assert_eq!(refused.status(), 400);
    let text = scrape(&http, &server.base).await;
    assert_eq!(
        value(&text, "screenhook_graphql_operations_total{type=\"unknown\",field=\"\",outcome=\"refused\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("noSuchField"));
    drop(server);

    let log = std::fs::read_to_string(&log_path).expect("the log");
    let requests: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "screenhook::http")
        .collect();
    let routes: Vec<&str> = requests.iter().filter_map(|r| r["fields"]["route"].as_str()).collect();
    assert_eq!(routes.iter().filter(|r| **r == "/graphql").count(), 6, "one line per request: {routes:?}");
    let page = requests.iter().find(|r| r["fields"]["route"] == "/c/{token}").expect("the candidate page's line");
    assert_eq!((page["fields"]["method"].as_str(), page["fields"]["status"].as_u64()), (Some("GET"), Some(200)));
    assert!(page["fields"]["duration_ms"].is_f64());
    assert!(!log.contains(&token), "a candidate token reached the log");
    assert!(!log.contains(METRICS_TOKEN), "the metrics token reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_deliveries_finishes_the_requests_in_flight_and_records_them() {
    const INVITES: usize = 8;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("screenhook.db");
    let receiver = TestReceiver::start().await;
    let http = client();
    let port = free_port();
    let mut child = spawn(&db, port, &[], Stdio::inherit());
    let key = printed_api_key(&mut child).await;
    let mut server = Running { child, base: format!("http://127.0.0.1:{port}") };
    server.wait_ready(&http).await;
    graphql(
        &http,
        &server.base,
        &key,
        "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { secret } }",
        json!({ "w": { "url": receiver.url("/hook"), "events": [CREATED] } }),
    )
    .await;
    let test_id = create_test(&http, &server.base, &key).await;

    // A slow endpoint: every delivery is still in flight when the signal comes.
    receiver.answer_after(Duration::from_millis(1_500));
    let sessions = invite(&http, &server.base, &key, &test_id, INVITES).await;
    receiver.wait_started(1 + INVITES).await;
    let signalled = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    assert!(signalled.elapsed() >= Duration::from_millis(1_000), "it waited for the requests in flight");
    let received = receiver.received();
    let delivered: HashSet<String> = received
        .iter()
        .filter(|r| !r.body.is_empty())
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|body| body["payload"]["testSessionId"].as_str().map(str::to_owned))
        .collect();
    let invited: HashSet<String> = sessions.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(delivered, invited, "every request in flight was answered before the process exited");

    // Without workers, the next process only reads: every delivery is recorded as delivered
    // at its first attempt, so none will be sent again.
    let port = free_port();
    let api_only = Running {
        child: spawn(&db, port, &[("SCREENHOOK_SERVER__ROLE", "api")], Stdio::inherit()),
        base: format!("http://127.0.0.1:{port}"),
    };
    api_only.wait_ready(&http).await;
    let log = graphql(
        &http,
        &api_only.base,
        &key,
        "{ webhookDeliveries(first: 100) { sessionId state attempts } }",
        json!({}),
    )
    .await;
    let rows = log["webhookDeliveries"].as_array().expect("the delivery log");
    assert_eq!(rows.len(), INVITES, "{rows:?}");
    for row in rows {
        assert_eq!((row["state"].as_str(), row["attempts"].as_i64()), (Some("delivered"), Some(1)), "{row}");
    }
}

/// Nothing that signs a delivery or opens the API is in the database file, its WAL or the
/// logs (at debug level): not the webhook's secret, not the one a rotation keeps signing, not
/// an API key, not a candidate's link. Read while the server runs (the WAL holds the recent writes) and after it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_in_neither_the_database_file_nor_its_wal_nor_the_logs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("screenhook.db");
    let log_path = dir.path().join("server.log");
    let receiver = TestReceiver::start().await;
    let http = client();
    let port = free_port();
    let log = std::fs::File::create(&log_path).expect("a log file");
    let mut child = spawn(&db, port, &[("SCREENHOOK_LOG__FILTER", "debug")], Stdio::from(log));
    let sandbox_key = printed_api_key(&mut child).await;
    let mut server = Running { child, base: format!("http://127.0.0.1:{port}") };
    server.wait_ready(&http).await;

    let first_secret = format!("dump-test-secret-{}", std::process::id());
    let created = graphql(
        &http,
        &server.base,
        &sandbox_key,
        "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { webhook { id } } }",
        json!({ "w": { "url": receiver.url("/dump-hook"), "events": [CREATED], "secret": first_secret } }),
    )
    .await;
    let webhook = created["createWebhook"]["webhook"]["id"].as_str().expect("an id").to_owned();
    graphql(
        &http,
        &server.base,
        &sandbox_key,
        "mutation($id: ID!) { updateWebhook(id: $id, webhookFields: { generateSecret: true }) { id } }",
        json!({ "id": webhook }),
    )
    .await;
    let revealed = graphql(
        &http,
        &server.base,
        &sandbox_key,
        "mutation($id: ID!) { revealWebhookSecret(id: $id) }",
        json!({ "id": webhook }),
    )
    .await;
    let second_secret = revealed["revealWebhookSecret"].as_str().expect("the new secret").to_owned();
    let made = keys(&["--database", db.to_str().unwrap()], &["create", "--description", "dump test"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let api_key = String::from_utf8(made.stdout).unwrap().trim().to_owned();

    // Deliveries go out signed with both secrets, so both were read back and used.
    let test_id = create_test(&http, &server.base, &sandbox_key).await;
    let invited = invite(&http, &server.base, &sandbox_key, &test_id, 2).await;
    let received = receiver.wait_for(4).await;
    // The candidate opens the link, and the API reads the link back from the stored session.
    let link_token = |n: usize| invited[n].1.rsplit_once("/c/").expect("a candidate link").1.to_owned();
    let (session, link) = &invited[0];
    let page = http.get(format!("{}/c/{}", server.base, link_token(0))).send().await.expect("the candidate page");
    assert_eq!(page.status(), 200);
    let read = graphql(
        &http,
        &server.base,
        &sandbox_key,
        "query($id: ID!) { companyTestSession(id: $id) { invitationUrl } }",
        json!({ "id": session }),
    )
    .await;
    assert_eq!(read["companyTestSession"]["invitationUrl"].as_str(), Some(link.as_str()));
    let delivery = received.iter().find(|r| !r.body.is_empty()).expect("a delivery");
    assert_eq!(delivery.header("webhook-signature").map(|s| s.split(' ').count()), Some(2));

    let secrets = [
        ("the webhook's first secret", first_secret.clone()),
        ("the webhook's current secret", second_secret.clone()),
        ("the sandbox API key", sandbox_key.clone()),
        ("the sandbox API key's secret part", sandbox_key.splitn(3, '_').nth(2).unwrap().to_owned()),
        ("the created API key", api_key.clone()),
        ("the created API key's secret part", api_key.splitn(3, '_').nth(2).unwrap().to_owned()),
        ("a candidate link's secret", link_token(0).split_once('.').unwrap().1.to_owned()),
        ("another candidate link's secret", link_token(1).split_once('.').unwrap().1.to_owned()),
    ];
    let dump = |when: &str| {
        let mut files = vec![("the database file", std::fs::read(&db).expect("the database file"))];
        if let Ok(wal) = std::fs::read(dir.path().join("screenhook.db-wal")) {
            files.push(("its WAL", wal));
        }
        files.push(("the log", std::fs::read(&log_path).expect("the log")));
        for (file, bytes) in &files {
            for (what, secret) in &secrets {
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "{what} is in {file} {when}");
            }
        }
        files
    };
    let running = dump("while the server runs");
    assert!(running.iter().any(|(file, bytes)| *file != "the log" && bytes.windows(9).any(|w| w == b"dump-hook")));
    assert!(running.iter().any(|(file, _)| *file == "its WAL"), "the WAL was read while the server ran");
    assert!(server.terminate().success());
    let stopped = dump("after the server stopped");
    assert!(stopped.iter().any(|(file, bytes)| *file == "the log" && bytes.len() > 1_000), "a debug log was written");
}

fn secrets(database: &[&str], args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_screenhook"));
    command.arg("secrets").args(args).args(database);
    for name in ["SCREENHOOK_DATABASE__URL", "SCREENHOOK_SECRETS__KEY", "SCREENHOOK_SECRETS__PREVIOUS_KEYS"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().expect("run screenhook secrets");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A key rotation by the book: the new key current and the old one previous, a reseal, then
/// the old key dropped; and PostgreSQL never guesses a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secrets_key_is_rotated_with_a_reseal() {
    use screenhook_store::{SecretKeys, Store};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("screenhook.db");
    let hook = {
        use screenhook_engine::{SystemClock, bootstrap};
        let store = screenhook_store_sqlite::SqliteStore::open(&db).await.unwrap();
        bootstrap::ensure_sandbox(&store, &SystemClock).await.unwrap();
        let hook = screenhook_domain::Webhook {
            id: screenhook_domain::WebhookId::parse("wh_rotated").unwrap(),
            company_id: screenhook_domain::CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap(),
            url: "https://example.com/hook".into(),
            events: vec![screenhook_domain::EventKind::CompanyTestSessionFinished],
            secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
            retired_secrets: Vec::new(),
            owner_emails: vec![],
            custom_headers: vec![],
            created_at: screenhook_domain::Timestamp::from_millis(0),
            updated_at: screenhook_domain::Timestamp::from_millis(0),
        };
        store.insert_webhook(&hook).await.unwrap();
        hook
    };
    let old = std::fs::read_to_string(dir.path().join("screenhook.key")).expect("the key made beside the database");
    let (ok, new, _) = secrets(&[], &["generate-key"], &[]);
    assert!(ok);
    let new = new.trim().to_owned();
    assert_eq!(SecretKeys::parse(("new", &new), &[]).map(|_| ()).ok(), Some(()), "a usable key: {new}");

    let database = ["--database", db.to_str().unwrap()];
    let rotating = [("SCREENHOOK_SECRETS__KEY", new.as_str()), ("SCREENHOOK_SECRETS__PREVIOUS_KEYS", old.trim())];
    let current = SecretKeys::parse(("new", &new), &[]).unwrap().current_id().to_owned();
    let (ok, out, err) = secrets(&database, &["reseal"], &rotating);
    assert!(ok, "{err}");
    assert!(out.starts_with(&format!("1 webhook(s) and 0 session(s) resealed under key {current}")), "{out}");
    let (_, out, _) = secrets(&database, &["reseal"], &rotating);
    assert!(out.starts_with("0 webhook(s) and 0 session(s)"), "{out}");

    let only_new = SecretKeys::parse(("new", &new), &[]).unwrap();
    let store = screenhook_store_sqlite::SqliteStore::open_with_keys(&db, only_new).await.unwrap();
    assert_eq!(store.webhook_unscoped(&hook.id).await.unwrap().unwrap().0.secret, hook.secret);
    drop(store);
    let (ok, _, err) = secrets(&database, &["reseal"], &[("SCREENHOOK_SECRETS__KEY", "too-short")]);
    assert!(!ok && err.contains("secrets.key: not base64"), "{err}");

    let (ok, _, err) = secrets(&["--database-url", "postgres://nobody@127.0.0.1:1/none"], &["reseal"], &[]);
    assert!(!ok && err.contains("secrets.key: PostgreSQL needs the key"), "{err}");
    // Every serving role needs it, an API-only process included: it seals the secrets of the
    // webhooks it creates. The message points to the generator rather than print a key to logs.
    for role in ["api", "worker", "all"] {
        let out = Command::new(env!("CARGO_BIN_EXE_screenhook"))
            .args(["serve", "--role", role, "--database-url", "postgres://nobody@127.0.0.1:1/none"])
            .env_remove("SCREENHOOK_SECRETS__KEY")
            .env_remove("SCREENHOOK_SECRETS__KEY_FILE")
            .output()
            .expect("run screenhook serve");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{role}: {err}");
        assert!(err.contains("secrets.key: PostgreSQL needs the key"), "{role}: {err}");
        assert!(err.contains("make one with `screenhook secrets generate-key`"), "{role}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_listed_and_revoked_on_sqlite() {
    keys_round_trip(&SharedDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_listed_and_revoked_on_postgres() {
    if let Some(database) = SharedDatabase::postgres("keys").await {
        keys_round_trip(&database).await;
    }
}

/// `screenhook keys` beside a running server on the same database: a created key works at
/// once, is listed without its secret, and stops working once revoked.
async fn keys_round_trip(shared: &SharedDatabase) {
    let http = client();
    // The first start creates the sandbox company.
    let server = beside_the_tools(shared).await;
    let database = &shared.flags()[..];

    let refused = keys(database, &["create", "--company", "nobody"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--company: no company nobody"), "{refused:?}");
    let refused = keys(database, &["create", "--permissions", "tests,root"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown permission \"root\""), "{refused:?}");

    let created = keys(database, &["create", "--permissions", "tests", "--description", "ci runner"]);
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).expect("UTF-8").trim().to_owned();
    let public_id = token.strip_prefix("sk_").and_then(|t| t.split_once('_')).expect("sk_<public id>_<secret>").0;
    let tests = |token: String| key_status(&http, server.url(), token);
    assert_eq!(tests(token.clone()).await, 200, "the new key works on the running server");

    let listed = keys(database, &["list"]);
    let listed = String::from_utf8(listed.stdout).expect("UTF-8");
    let line = listed.lines().find(|l| l.starts_with(public_id)).expect("the new key is listed");
    assert_eq!(line, format!("{public_id}\tactive\ttests\tci runner"));
    assert!(!listed.contains(&token), "a listing never shows a secret");

    assert!(keys(database, &["revoke", public_id]).status.success());
    assert!(!keys(database, &["revoke", public_id]).status.success(), "revoked once");
    // Verified keys are cached for a second per process.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tests(token.clone()).await != 401 {
        assert!(Instant::now() < deadline, "the revoked key still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = String::from_utf8(keys(database, &["list"]).stdout).expect("UTF-8");
    assert!(listed.contains(&format!("{public_id}\trevoked")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_created_renamed_disabled_and_enabled_on_sqlite() {
    companies_round_trip(&SharedDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_created_renamed_disabled_and_enabled_on_postgres() {
    if let Some(database) = SharedDatabase::postgres("companies").await {
        companies_round_trip(&database).await;
    }
}

/// `screenhook companies` beside a running server: a new company's first key works at once; a
/// disabled company's key and candidate links are refused, and work again once it is enabled.
async fn companies_round_trip(shared: &SharedDatabase) {
    let http = client();
    let server = beside_the_tools(shared).await;
    let database = &shared.flags()[..];
    let sandbox_key = server.created_sandbox().expect("a fresh database").key.clone();
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();

    let created = companies(database, &["create", "acme", "--name", "  Acme Corp "]);
    assert!(created.status.success(), "{created:?}");
    assert!(stderr(&created).contains("Created the production company acme (Acme Corp)"), "{created:?}");
    let key = String::from_utf8(created.stdout).expect("UTF-8").trim().to_owned();
    let again = companies(database, &["create", "acme", "--name", "Other"]);
    assert!(!again.status.success() && stderr(&again).contains("a company acme already exists"), "{again:?}");
    let bad = companies(database, &["create", "no spaces", "--name", "Bad"]);
    assert!(!bad.status.success() && stderr(&bad).contains("company id:"), "{bad:?}");
    let nameless = companies(database, &["create", "nameless", "--name", " "]);
    assert!(stderr(&nameless).contains("name: must be 1 to 200 characters, found 0"), "{nameless:?}");
    let unknown = companies(database, &["disable", "nobody"]);
    assert!(!unknown.status.success() && stderr(&unknown).contains("no company nobody"), "{unknown:?}");

    // The first key has every permission: it sets up and invites.
    let test_id = create_test(&http, &server.url(), &key).await;
    let sessions = invite(&http, &server.url(), &key, &test_id, 1).await;
    let token = sessions[0].1.rsplit_once("/c/").expect("a candidate link").1.to_owned();
    let link = format!("{}/c/{token}", server.url());

    let listed = String::from_utf8(companies(database, &["list"]).stdout).expect("UTF-8");
    assert!(listed.lines().any(|l| l == "acme\tactive\tproduction\tAcme Corp"), "{listed}");
    assert!(listed.lines().any(|l| l == "sandbox\tactive\tsandbox\tSandbox"), "{listed}");
    assert!(companies(database, &["rename", "acme", "--name", "Acme Inc"]).status.success());
    let listed = String::from_utf8(companies(database, &["list"]).stdout).expect("UTF-8");
    assert!(listed.lines().any(|l| l == "acme\tactive\tproduction\tAcme Inc"), "{listed}");

    let status = |token: String| key_status(&http, server.url(), token);
    let page = |link: String| {
        let http = http.clone();
        async move { http.get(link).send().await.expect("the candidate page").status() }
    };
    assert!(companies(database, &["disable", "acme"]).status.success());
    // Each process caches companies and keys for a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(key.clone()).await != 401 || page(link.clone()).await != 404 {
        assert!(Instant::now() < deadline, "the disabled company still gets in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = http.get(&link).send().await.expect("the candidate page").text().await.expect("a body");
    assert!(refused.contains("This invitation is no longer available."), "{refused}");
    assert_eq!(status(sandbox_key).await, 200, "other companies are not affected");
    let listed = String::from_utf8(companies(database, &["list"]).stdout).expect("UTF-8");
    assert!(listed.lines().any(|l| l == "acme\tdisabled\tproduction\tAcme Inc"), "{listed}");

    assert!(companies(database, &["enable", "acme"]).status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(key.clone()).await != 200 || page(link.clone()).await != 200 {
        assert!(Instant::now() < deadline, "the enabled company is still refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server the tools run beside: what `serve` runs, in this process (the tools are the
/// binary, each its own process, as an operator runs them).
async fn beside_the_tools(shared: &SharedDatabase) -> screenhook::Running {
    let mut settings = vec![("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")];
    settings.extend(shared.settings.iter().map(|(name, value)| (*name, value.as_str())));
    support::spawn_app(&settings).await
}

/// A database the server and the tools share: the server's settings and the tools' flags.
struct SharedDatabase {
    settings: Vec<(&'static str, String)>,
    flags: Vec<String>,
    _dir: tempfile::TempDir,
    _postgres: Option<support::PgDatabase>,
}

impl SharedDatabase {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("screenhook.db").to_str().expect("a UTF-8 path").to_owned();
        let settings = vec![("SCREENHOOK_DATABASE__PATH", db.clone())];
        Self { settings, flags: vec!["--database".into(), db], _dir: dir, _postgres: None }
    }

    /// `None`, after saying so, when `TEST_DATABASE_URL` is not set.
    async fn postgres(tool: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("skipped: set TEST_DATABASE_URL to run `screenhook {tool}` against PostgreSQL");
            return None;
        };
        let database = support::PgDatabase::create(&admin).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let unused = dir.path().join("unused.db").to_str().expect("a UTF-8 path").to_owned();
        let settings = vec![
            ("SCREENHOOK_DATABASE__PATH", unused),
            ("SCREENHOOK_DATABASE__URL", database.url.clone()),
            ("SCREENHOOK_SECRETS__KEY", SECRETS_KEY.to_owned()),
        ];
        let flags = vec!["--database-url".into(), database.url.clone()];
        Some(Self { settings, flags, _dir: dir, _postgres: Some(database) })
    }

    fn flags(&self) -> Vec<&str> {
        self.flags.iter().map(String::as_str).collect()
    }
}

/// What the running server answers a query made with `token`.
async fn key_status(http: &reqwest::Client, base: String, token: String) -> reqwest::StatusCode {
    let body = json!({ "query": "{ companyTests(first: 10) { totalCount } }" });
    http.post(format!("{base}/graphql")).bearer_auth(token).json(&body).send().await.expect("a query").status()
}

fn companies(database: &[&str], args: &[&str]) -> std::process::Output {
    tool("companies", database, args)
}

fn keys(database: &[&str], args: &[&str]) -> std::process::Output {
    tool("keys", database, args)
}

fn tool(command: &str, database: &[&str], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_screenhook"))
        .arg(command)
        .args(args)
        .args(database)
        .env_remove("SCREENHOOK_DATABASE__URL")
        .env_remove("SCREENHOOK_DATABASE__PATH")
        .output()
        .expect("run a screenhook tool")
}

fn client() -> Client {
    Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().expect("an HTTP client")
}

fn spawn(db: &Path, port: u16, env: &[(&str, &str)], stderr: Stdio) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_screenhook"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database"])
        .arg(db)
        .env("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true")
        .env("SCREENHOOK_METRICS__TOKEN", METRICS_TOKEN)
        .env("SCREENHOOK_LOG__FORMAT", "json")
        .env("SCREENHOOK_LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("start the screenhook binary")
}

/// A `screenhook serve` child, killed when dropped.
struct Running {
    child: Child,
    base: String,
}

impl Running {
    async fn wait_ready(&self, http: &Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http.get(format!("{}/readyz", self.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the server did not become ready");
    }

    /// SIGTERM, and the exit status (within 30 s).
    fn terminate(&mut self) -> ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn graphql(http: &Client, base: &str, key: &str, query: &str, variables: Value) -> Value {
    let response = http
        .post(format!("{base}/graphql"))
        .bearer_auth(key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("a GraphQL request");
    let body: Value = response.json().await.expect("a JSON answer");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn create_test(http: &Client, base: &str, key: &str) -> String {
    let created = graphql(
        http,
        base,
        key,
        "mutation($t: CreateCompanyTestInput!) { createCompanyTest(testFields: $t) { id } }",
        json!({ "t": { "title": "Operations", "externalTitle": "Operations", "duration": 3_600_000.0 } }),
    )
    .await;
    created["createCompanyTest"]["id"].as_str().expect("the test's id").to_owned()
}

/// Invites `n` candidates; their session ids and candidate links.
async fn invite(http: &Client, base: &str, key: &str, test_id: &str, n: usize) -> Vec<(String, String)> {
    let mut sessions = Vec::new();
    for i in 0..n {
        let created = graphql(
            http,
            base,
            key,
            "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id invitationUrl } }",
            json!({ "s": {
                "testId": test_id,
                "candidateFirstName": "Ops",
                "candidateLastName": format!("Candidate {i}"),
                "candidateEmail": format!("ops{i}@example.com"),
            } }),
        )
        .await;
        let session = &created["createCompanyTestSession"];
        sessions.push((
            session["id"].as_str().expect("an id").to_owned(),
            session["invitationUrl"].as_str().expect("a link").to_owned(),
        ));
    }
    sessions
}

async fn scrape(http: &Client, base: &str) -> String {
    let response = http.get(format!("{base}/metrics")).bearer_auth(METRICS_TOKEN).send().await.expect("a scrape");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"].to_str().expect("ASCII").starts_with("text/plain; version=0.0.4"),
        "the Prometheus text format"
    );
    response.text().await.expect("the metrics text")
}

/// The value of one series (`name{labels}` exactly as rendered, labels in the order the
/// metric was recorded with).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}
