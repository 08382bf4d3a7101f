//! Webhook management against real endpoints: the verification ping gates every save, input
//! is refused field by field, and "test and save" brings a disabled webhook and its kept queue
//! back.

use std::sync::Arc;

use axum::http::StatusCode;
use screenhook_delivery::{
    ApplyError, DeliveryConfig, ManageError, NewSecret, WebhookInput, WebhookManager, WebhookPatch, Worker,
};
use screenhook_domain::advisor::{Advice, PlanAction, PlanOptions, advise};
use screenhook_domain::certify::STEP2_NOT_PROCTORED;
use screenhook_domain::{
    Change, Company, CompanyId, DomainEvent, EventKind, Millis, SessionId, Timestamp, WebhookState,
};
use screenhook_engine::{Clock, ManualClock};
use screenhook_store::{DeliveryFilter, DeliveryState, Store};
use screenhook_store_sqlite::SqliteStore;
use screenhook_testkit::TestReceiver;
use screenhook_webhooks::{EgressPolicy, PingError, RetryPolicy, Sender, SenderConfig};

const T0: Timestamp = Timestamp::from_millis(1_750_000_000_000);

struct Fixture {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    sender: Sender,
    manager: WebhookManager,
    company: CompanyId,
    _dir: tempfile::TempDir,
}

fn sender(allow_loopback: bool) -> Sender {
    let egress = EgressPolicy { allow_loopback, ..EgressPolicy::default() };
    Sender::new(SenderConfig { egress, ..SenderConfig::default() }).expect("a client")
}

async fn fixture_with(allow_loopback: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("m.db")).await.expect("open store"));
    let company = CompanyId::parse("acme").unwrap();
    store
        .insert_company(&Company {
            id: company.clone(),
            name: "Acme".into(),
            sandbox: false,
            clock_offset: Millis::from_millis(0),
            created_at: T0,
            disabled_at: None,
        })
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let sender = sender(allow_loopback);
    let manager = WebhookManager::new(store.clone(), sender.clone(), clock.clone());
    Fixture { store, clock, sender, manager, company, _dir: dir }
}

async fn fixture() -> Fixture {
    fixture_with(true).await
}

fn input(url: String) -> WebhookInput {
    WebhookInput {
        url,
        events: vec!["companyTestSessionCreated".into(), "companyTestSessionFinished".into()],
        secret: None,
        owner_emails: vec!["Ops@Example.com".into()],
        custom_headers: vec![("X-Team".into(), "hiring".into())],
    }
}

/// Fires one `companyTestSessionCreated` event for `session`.
async fn fire(f: &Fixture, session: &str) {
    let event = DomainEvent {
        kind: EventKind::CompanyTestSessionCreated,
        triggered_on: f.clock.now(),
        company_id: f.company.clone(),
        session_id: Some(SessionId::parse(session).unwrap()),
        test_id: None,
        payload: serde_json::json!({ "testSessionId": session }),
    };
    f.store.apply(Change { events: vec![event], ..Change::default() }).await.expect("the event commits");
}

fn invalid_field(err: ManageError) -> (&'static str, String, String) {
    match err {
        ManageError::Invalid { field, problem, allowed } => (field, problem, allowed),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn create_pings_with_an_empty_body_then_saves_an_active_webhook_with_a_generated_secret() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let (webhook, health) = f.manager.create(&f.company, input(receiver.url("/hook"))).await.expect("created");

    let pings = receiver.received();
    assert_eq!(pings.len(), 1, "exactly one verification ping");
    assert_eq!(pings[0].method, "POST");
    assert!(pings[0].body.is_empty(), "the ping has an empty body");
    assert_eq!(pings[0].header("x-team"), Some("hiring"), "custom headers ride along");
    assert!(pings[0].header("x-codesignal-signature").is_some(), "the ping is signed");

    assert!(webhook.id.as_str().starts_with("wh_"), "{}", webhook.id);
    assert_eq!(webhook.url, receiver.url("/hook"));
    assert_eq!(webhook.events, vec![EventKind::CompanyTestSessionCreated, EventKind::CompanyTestSessionFinished]);
    assert_eq!(webhook.owner_emails, vec!["ops@example.com".to_owned()]);
    let secret = webhook.secret.clone().expect("a generated secret");
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Active, 0));
    assert_eq!(f.store.webhook(&f.company, &webhook.id).await.unwrap().map(|(w, _)| w), Some(webhook.clone()));

    // A second webhook gets its own secret.
    let (other, _) = f.manager.create(&f.company, input(receiver.url("/other"))).await.unwrap();
    assert_ne!(other.secret, webhook.secret);
    assert_eq!(f.store.webhooks(&f.company).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_failing_ping_saves_nothing_and_says_what_the_endpoint_did() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;

    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let err = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap_err();
    assert!(matches!(err, ManageError::Ping(PingError::Status { status: 500, .. })), "{err:?}");
    assert!(err.to_string().contains("answered 500"), "{err}");

    receiver.answer(StatusCode::FOUND);
    let err = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap_err();
    assert!(matches!(err, ManageError::Ping(PingError::Redirected { status: 302, .. })), "{err:?}");
    assert!(err.to_string().contains("redirects are not followed"), "{err}");

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = f.manager.create(&f.company, input(format!("http://{closed}/hook"))).await.unwrap_err();
    assert!(matches!(err, ManageError::Ping(PingError::Connect(_))), "{err:?}");
    assert!(err.to_string().contains("could not connect"), "{err}");

    assert_eq!(receiver.received().len(), 2, "one ping per attempt, never a retry");
    assert!(f.store.webhooks(&f.company).await.unwrap().is_empty(), "nothing was saved");
}

#[tokio::test]
async fn loopback_is_refused_at_save_time_unless_the_operator_allows_it() {
    let strict = fixture_with(false).await;
    let receiver = TestReceiver::start().await;
    let (field, problem, _) =
        invalid_field(strict.manager.create(&strict.company, input(receiver.url("/hook"))).await.unwrap_err());
    assert_eq!(field, "url");
    assert!(problem.contains("loopback"), "{problem}");
    let (field, problem, _) = invalid_field(
        strict.manager.create(&strict.company, input("http://localhost:8080/hook".into())).await.unwrap_err(),
    );
    assert_eq!(field, "url");
    assert!(problem.contains("localhost"), "{problem}");
    let (field, problem, _) = invalid_field(
        strict.manager.create(&strict.company, input("http://169.254.169.254/latest".into())).await.unwrap_err(),
    );
    assert_eq!(field, "url");
    assert!(problem.contains("169.254.169.254"), "{problem}");
    assert!(receiver.received().is_empty(), "a refused URL is never contacted");
    assert!(strict.store.webhooks(&strict.company).await.unwrap().is_empty());

    let relaxed = fixture_with(true).await;
    relaxed.manager.create(&relaxed.company, input(receiver.url("/hook"))).await.expect("allowed by the operator");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn bad_input_names_the_field_and_what_is_allowed() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let url = receiver.url("/hook");
    let long_email = format!("{}@example.com", "a".repeat(300));
    let cases: Vec<(&str, WebhookInput, &str)> = vec![
        ("empty url", WebhookInput { url: "  ".into(), ..input(url.clone()) }, "url"),
        ("ftp url", WebhookInput { url: "ftp://example.com/x".into(), ..input(url.clone()) }, "url"),
        (
            "long url",
            WebhookInput { url: format!("https://example.com/{}", "a".repeat(2100)), ..input(url.clone()) },
            "url",
        ),
        ("credentials", WebhookInput { url: "https://u:p@example.com/".into(), ..input(url.clone()) }, "url"),
        ("no events", WebhookInput { events: vec![], ..input(url.clone()) }, "events"),
        ("unknown event", WebhookInput { events: vec!["sessionDone".into()], ..input(url.clone()) }, "events"),
        (
            "wrong case",
            WebhookInput { events: vec!["CompanyTestSessionCreated".into()], ..input(url.clone()) },
            "events",
        ),
        (
            "duplicate event",
            WebhookInput { events: vec!["preScreenExpired".into(), "preScreenExpired".into()], ..input(url.clone()) },
            "events",
        ),
        (
            "bad email",
            WebhookInput { owner_emails: vec!["not-an-address".into()], ..input(url.clone()) },
            "ownerEmails",
        ),
        ("long email", WebhookInput { owner_emails: vec![long_email], ..input(url.clone()) }, "ownerEmails"),
        (
            "duplicate email",
            WebhookInput { owner_emails: vec!["a@example.com".into(), "A@example.com".into()], ..input(url.clone()) },
            "ownerEmails",
        ),
        (
            "21 emails",
            WebhookInput { owner_emails: (0..21).map(|n| format!("o{n}@example.com")).collect(), ..input(url.clone()) },
            "ownerEmails",
        ),
        (
            "header injection",
            WebhookInput { custom_headers: vec![("X-A".into(), "b\r\nHost: evil".into())], ..input(url.clone()) },
            "customHeaders",
        ),
        (
            "reserved header",
            WebhookInput { custom_headers: vec![("Host".into(), "evil.example".into())], ..input(url.clone()) },
            "customHeaders",
        ),
        (
            "forged signature",
            WebhookInput { custom_headers: vec![("X-CodeSignal-Signature".into(), "00".into())], ..input(url.clone()) },
            "customHeaders",
        ),
        ("empty secret", WebhookInput { secret: Some(String::new()), ..input(url.clone()) }, "secret"),
        ("long secret", WebhookInput { secret: Some("s".repeat(257)), ..input(url.clone()) }, "secret"),
        ("control in secret", WebhookInput { secret: Some("abc\ndef".into()), ..input(url.clone()) }, "secret"),
        ("non-ASCII secret", WebhookInput { secret: Some("sécret".into()), ..input(url.clone()) }, "secret"),
    ];
    for (what, bad, expected) in cases {
        let (field, problem, allowed) = invalid_field(f.manager.create(&f.company, bad).await.unwrap_err());
        assert_eq!(field, expected, "{what}");
        assert!(!problem.is_empty() && !allowed.is_empty(), "{what}: {problem} / {allowed}");
    }
    let (_, problem, allowed) = invalid_field(
        f.manager
            .create(&f.company, WebhookInput { events: vec!["sessionDone".into()], ..input(url.clone()) })
            .await
            .unwrap_err(),
    );
    assert!(problem.contains("sessionDone"), "{problem}");
    assert!(allowed.contains("preScreenResultShared") && allowed.contains("certificationRequestsMerged"), "{allowed}");
    assert!(receiver.received().is_empty(), "invalid input costs the endpoint nothing");
    assert!(f.store.webhooks(&f.company).await.unwrap().is_empty());

    // The limits themselves are accepted: a 256-character secret and legacy Certify events.
    let ok = WebhookInput {
        secret: Some("~".repeat(256)),
        events: vec!["certificationResultShared".into()],
        ..input(url.clone())
    };
    let (webhook, _) = f.manager.create(&f.company, ok).await.expect("at the limits");
    assert_eq!(webhook.secret.as_deref(), Some("~".repeat(256).as_str()));
}

#[tokio::test]
async fn update_pings_the_new_configuration_and_saves_only_if_it_answers() {
    let f = fixture().await;
    let first = TestReceiver::start().await;
    let second = TestReceiver::start().await;
    let (webhook, _) = f.manager.create(&f.company, input(first.url("/hook"))).await.unwrap();

    // A new URL that fails its ping changes nothing.
    second.answer(StatusCode::SERVICE_UNAVAILABLE);
    let patch = WebhookPatch { url: Some(second.url("/new")), ..WebhookPatch::default() };
    let err = f.manager.update(&f.company, &webhook.id, patch.clone()).await.unwrap_err();
    assert!(err.to_string().contains("answered 503"), "{err}");
    assert_eq!(f.store.webhook(&f.company, &webhook.id).await.unwrap().unwrap().0, webhook);

    // Once it answers, the change is saved; the new secret is the one the ping was signed with.
    second.answer(StatusCode::OK);
    f.clock.advance(Millis::from_millis(5_000));
    let patch = WebhookPatch {
        secret: Some(NewSecret::Given("my-secret".into())),
        events: Some(vec!["preScreenExpired".into()]),
        ..patch
    };
    let (updated, health) = f.manager.update(&f.company, &webhook.id, patch).await.expect("updated");
    assert_eq!(updated.url, second.url("/new"));
    assert_eq!(updated.secret.as_deref(), Some("my-secret"));
    assert_eq!(updated.events, vec![EventKind::PreScreenExpired]);
    assert_eq!(updated.owner_emails, webhook.owner_emails, "fields not given are kept");
    assert_eq!(updated.created_at, webhook.created_at);
    assert_eq!(updated.updated_at, T0.plus(Millis::from_millis(5_000)));
    assert_eq!(health.state, WebhookState::Active);
    let pings = second.received();
    assert_eq!(pings.len(), 2);
    assert!(pings[1].body.is_empty());
    let expected = screenhook_webhooks::codesignal_signature("my-secret", &second.url("/new"), "", "");
    assert_eq!(pings[1].header("x-codesignal-signature"), Some(expected.as_str()));

    // Every update pings, even one that leaves the URL alone; rotation generates a new secret.
    let (rotated, _) = f
        .manager
        .update(&f.company, &webhook.id, WebhookPatch { secret: Some(NewSecret::Generate), ..WebhookPatch::default() })
        .await
        .unwrap();
    assert!(rotated.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
    assert_eq!(second.received().len(), 3);

    // Validation applies to updates too, before any ping.
    let bad = WebhookPatch { custom_headers: Some(vec![("Content-Length".into(), "0".into())]), ..Default::default() };
    assert_eq!(invalid_field(f.manager.update(&f.company, &webhook.id, bad).await.unwrap_err()).0, "customHeaders");
    assert_eq!(second.received().len(), 3);
}

#[tokio::test]
async fn other_companies_webhooks_are_not_found() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let (webhook, _) = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap();
    let other = CompanyId::parse("globex").unwrap();
    let not_found = |err: ManageError| matches!(err, ManageError::NotFound { what: "webhook", .. });

    assert!(not_found(f.manager.update(&other, &webhook.id, WebhookPatch::default()).await.unwrap_err()));
    assert!(not_found(f.manager.test_and_save(&other, &webhook.id).await.unwrap_err()));
    assert!(not_found(f.manager.delete(&other, &webhook.id).await.unwrap_err()));
    assert!(not_found(f.manager.recover(&other, &webhook.id, T0).await.unwrap_err()));
    assert_eq!(receiver.received().len(), 1, "only the creation ping");
    assert!(f.store.webhook(&f.company, &webhook.id).await.unwrap().is_some());

    f.manager.delete(&f.company, &webhook.id).await.expect("deleted");
    assert!(not_found(f.manager.delete(&f.company, &webhook.id).await.unwrap_err()));
    assert!(not_found(f.manager.test_and_save(&f.company, &webhook.id).await.unwrap_err()));
}

#[tokio::test]
async fn test_and_save_restores_a_disabled_webhook_and_its_kept_queue_is_sent() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let (webhook, _) = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap();
    let retry = RetryPolicy { disable_after_consecutive_failures: 3, ..RetryPolicy::default() };
    let worker =
        Worker::new(f.store.clone(), f.sender.clone(), f.clock.clone(), DeliveryConfig { retry, ..Default::default() });

    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    fire(&f, "session-1").await;
    for _ in 0..3 {
        worker.run_pending().await.unwrap();
        f.clock.advance(Millis::days(1));
    }
    let (_, health) = f.store.webhook(&f.company, &webhook.id).await.unwrap().unwrap();
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Disabled, 3));
    fire(&f, "session-2").await;
    f.clock.advance(Millis::days(1));
    assert_eq!(worker.run_pending().await.unwrap(), 0, "a disabled webhook gets nothing");
    let kept = f.store.deliveries(&f.company, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|d| d.state == DeliveryState::Ready && d.paused), "{kept:?}");
    let received_before = receiver.received().len();

    // Still failing: the test fails and nothing changes.
    let err = f.manager.test_and_save(&f.company, &webhook.id).await.unwrap_err();
    assert!(matches!(err, ManageError::Ping(PingError::Status { status: 500, .. })), "{err:?}");
    assert_eq!(f.store.webhook(&f.company, &webhook.id).await.unwrap().unwrap().1.state, WebhookState::Disabled);

    // Fixed: test and save pings, restores, and the kept queue goes out.
    receiver.answer(StatusCode::OK);
    let (_, health) = f.manager.test_and_save(&f.company, &webhook.id).await.expect("restored");
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Active, 0));
    let received = receiver.received();
    assert_eq!(received.len(), received_before + 2, "a failed test and a successful one");
    assert!(received[received_before + 1].body.is_empty());

    assert_eq!(worker.run_pending().await.unwrap(), 2);
    let log = f.store.deliveries(&f.company, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert!(log.iter().all(|d| d.state == DeliveryState::Delivered), "{log:?}");
    let sessions: Vec<String> = receiver.received()[received_before + 2..]
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["payload"]["testSessionId"].to_string())
        .collect();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.contains(&"\"session-1\"".to_owned()) && sessions.contains(&"\"session-2\"".to_owned()));
}

#[tokio::test]
async fn replay_and_recover_are_scoped_to_the_company() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let (webhook, _) = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap();
    let worker = Worker::new(f.store.clone(), f.sender.clone(), f.clock.clone(), DeliveryConfig::default());
    fire(&f, "session-1").await;
    worker.run_pending().await.unwrap();
    let event =
        f.store.events_of_session(&f.company, &SessionId::parse("session-1").unwrap()).await.unwrap()[0].id.clone();

    let row = f.manager.replay(&f.company, &webhook.id, &event).await.expect("replayed");
    assert!(row.replay);
    worker.run_pending().await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 3, "ping, delivery, replay");
    assert_eq!(received[1].header("webhook-id"), received[2].header("webhook-id"));

    let other = CompanyId::parse("globex").unwrap();
    assert!(matches!(
        f.manager.replay(&other, &webhook.id, &event).await.unwrap_err(),
        ManageError::NotFound { what: "webhook", .. }
    ));
    let unknown = screenhook_domain::EventId::parse("evt_unknown").unwrap();
    assert!(matches!(
        f.manager.replay(&f.company, &webhook.id, &unknown).await.unwrap_err(),
        ManageError::NotFound { what: "event", .. }
    ));
    assert_eq!(f.manager.recover(&f.company, &webhook.id, T0).await.unwrap(), 0, "nothing failed for good");
}

/// The Certify transition's plan for this company's webhooks, as the engine would make it
/// (no Certified Evaluation yet: the non-proctored lists).
async fn plan(f: &Fixture, options: PlanOptions) -> Advice {
    let webhooks: Vec<_> = f.store.webhooks(&f.company).await.unwrap().into_iter().map(|(w, _)| w).collect();
    advise(vec![], &webhooks, options)
}

async fn events_of(f: &Fixture, id: &screenhook_domain::WebhookId) -> Vec<EventKind> {
    f.manager.find(&f.company, id).await.unwrap().0.events
}

#[tokio::test]
async fn a_plan_is_applied_whole_or_not_at_all() {
    let f = fixture().await;
    let (legacy_end, mixed_end) = (TestReceiver::start().await, TestReceiver::start().await);
    let mut legacy = input(legacy_end.url("/certify"));
    legacy.events = vec!["certificationResultShared".into(), "certificationRequestExpired".into()];
    let (legacy, _) = f.manager.create(&f.company, legacy).await.unwrap();
    let mut mixed = input(mixed_end.url("/mixed"));
    mixed.events = vec!["certificationResultPending".into(), "companyTestSessionCreated".into()];
    let (mixed, _) = f.manager.create(&f.company, mixed).await.unwrap();
    let advice = plan(&f, PlanOptions::default()).await;
    assert!(advice.webhooks.iter().all(|w| w.action == PlanAction::Update));

    // One endpoint fails its ping: neither webhook changes, and the error names it.
    mixed_end.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let err = f.manager.apply_plan(&f.company, &advice, None).await.unwrap_err();
    match &err {
        ApplyError::Ping { webhook, url, .. } => {
            assert_eq!(webhook.as_ref(), Some(&mixed.id));
            assert_eq!(url, &mixed.url);
        }
        other => panic!("expected a ping failure, got {other}"),
    }
    assert!(err.to_string().contains("nothing was applied"), "{err}");
    assert_eq!(events_of(&f, &legacy.id).await, legacy.events);
    assert_eq!(events_of(&f, &mixed.id).await, mixed.events);

    // Both answer: both gain the Step 2 events and keep their Certify ones.
    mixed_end.answer(StatusCode::OK);
    let applied = f.manager.apply_plan(&f.company, &advice, None).await.unwrap();
    assert_eq!(applied.updated.len(), 2);
    assert!(applied.created.is_none());
    for (webhook, before) in [(&legacy, &legacy.events), (&mixed, &mixed.events)] {
        let after = events_of(&f, &webhook.id).await;
        assert!(before.iter().all(|e| after.contains(e)), "legacy kept: {after:?}");
        assert!(STEP2_NOT_PROCTORED.iter().all(|e| after.contains(e)), "{after:?}");
    }
    // Applied, the company is up to date; an old plan no longer applies.
    assert!(plan(&f, PlanOptions::default()).await.is_up_to_date());
    let stale = f.manager.apply_plan(&f.company, &advice, None).await.unwrap_err();
    assert!(matches!(stale, ApplyError::Stale(_)), "{stale}");

    // Dropping the Certify subscriptions is a plan of its own.
    let drop = plan(&f, PlanOptions { drop_legacy: true }).await;
    f.manager.apply_plan(&f.company, &drop, None).await.unwrap();
    assert!(!events_of(&f, &legacy.id).await.iter().any(|e| e.is_legacy_certify()));
}

#[tokio::test]
async fn a_company_without_a_results_webhook_gets_one_at_the_url_it_gives() {
    let f = fixture().await;
    let end = TestReceiver::start().await;
    let mut other = input(end.url("/assessments"));
    other.events = vec!["assessmentCreated".into()];
    f.manager.create(&f.company, other).await.unwrap();
    let advice = plan(&f, PlanOptions::default()).await;
    assert_eq!(advice.new_webhook.as_deref(), Some(STEP2_NOT_PROCTORED));

    let err = f.manager.apply_plan(&f.company, &advice, None).await.unwrap_err();
    assert!(matches!(err, ApplyError::UrlRequired) && err.to_string().starts_with("newWebhookUrl:"), "{err}");
    let err = f.manager.apply_plan(&f.company, &advice, Some("ftp://example.com/")).await.unwrap_err();
    assert!(matches!(err, ApplyError::Manage(ManageError::Invalid { field: "url", .. })), "{err}");
    assert_eq!(f.store.webhooks(&f.company).await.unwrap().len(), 1, "nothing was created");

    let applied = f.manager.apply_plan(&f.company, &advice, Some(&end.url("/results"))).await.unwrap();
    let (created, _) = applied.created.expect("a new webhook");
    assert_eq!(created.events, STEP2_NOT_PROCTORED);
    assert!(created.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
    let pings = end.received();
    assert_eq!(pings.last().unwrap().path, "/results", "pinged before it was saved");
    // Up to date now, a URL is no longer expected.
    let err = f
        .manager
        .apply_plan(&f.company, &plan(&f, PlanOptions::default()).await, Some("https://example.com/"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::UrlNotExpected), "{err}");
}

/// Whether a delivery's `webhook-signature` verifies with `secret`, and how many entries it has.
fn signed_with(received: &screenhook_testkit::Received, secret: &str) -> (bool, usize) {
    use screenhook_webhooks::{SignedHeaders, standard_webhooks_key, verify};
    let headers = SignedHeaders {
        id: received.header("webhook-id"),
        timestamp: received.header("webhook-timestamp"),
        signature: received.header("webhook-signature"),
    };
    let at: i64 = headers.timestamp.unwrap().parse().unwrap();
    let ok = verify(&[standard_webhooks_key(secret)], headers, &received.body, at, 300).is_ok();
    (ok, headers.signature.unwrap().split(' ').count())
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_beside_the_new_one_until_its_overlap_ends() {
    let f = fixture().await;
    let receiver = TestReceiver::start().await;
    let (webhook, _) = f.manager.create(&f.company, input(receiver.url("/hook"))).await.unwrap();
    let old = webhook.secret.clone().unwrap();

    let rotate = WebhookPatch { secret: Some(NewSecret::Generate), ..WebhookPatch::default() };
    let (rotated, _) = f.manager.update(&f.company, &webhook.id, rotate.clone()).await.unwrap();
    let new = rotated.secret.clone().unwrap();
    assert_ne!(old, new);
    assert_eq!(rotated.retired_secrets[0].until, T0.plus(Millis::DAY), "a day by default");
    let ping = receiver.received().pop().unwrap();
    let expected = screenhook_webhooks::codesignal_signature(&new, &receiver.url("/hook"), "", "");
    assert_eq!(ping.header("x-codesignal-signature"), Some(expected.as_str()), "the ping proves the new secret");

    // Within the overlap both secrets sign the body; the CodeSignal header uses the new one.
    f.clock.advance(Millis::HOUR);
    fire(&f, "session-1").await;
    let worker = Worker::new(f.store.clone(), f.sender.clone(), f.clock.clone(), DeliveryConfig::default());
    worker.run_pending().await.unwrap();
    let delivery = receiver.received().pop().unwrap();
    assert_eq!(signed_with(&delivery, &old), (true, 2));
    assert_eq!(signed_with(&delivery, &new), (true, 2));
    let body: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap();
    let codesignal = screenhook_webhooks::codesignal_signature(
        &new,
        &receiver.url("/hook"),
        "companyTestSessionCreated",
        &body["triggeredOn"].to_string(),
    );
    assert_eq!(delivery.header("x-codesignal-signature"), Some(codesignal.as_str()));

    // The overlap ends on its own: a day after the change only the new secret signs.
    f.clock.advance(Millis::DAY);
    fire(&f, "session-2").await;
    let worker = Worker::new(f.store.clone(), f.sender.clone(), f.clock.clone(), DeliveryConfig::default());
    worker.run_pending().await.unwrap();
    let delivery = receiver.received().pop().unwrap();
    assert_eq!(signed_with(&delivery, &old), (false, 1));
    assert_eq!(signed_with(&delivery, &new), (true, 1));

    // A leaked secret is replaced with no overlap: it stops at once, and so does the secret
    // still in the overlap of the rotation before it. An overlap past a week is refused, unsaved.
    let (again, _) = f.manager.update(&f.company, &webhook.id, rotate).await.unwrap();
    let newer = again.secret.clone().unwrap();
    assert_eq!(again.retired_secrets.len(), 1, "{again:?}");
    let leaked = WebhookPatch {
        secret: Some(NewSecret::Given("a-brand-new-secret".into())),
        old_secret_valid_for: Some(Millis::from_millis(0)),
        ..WebhookPatch::default()
    };
    let (replaced, _) = f.manager.update(&f.company, &webhook.id, leaked).await.unwrap();
    assert!(replaced.retired_secrets.is_empty(), "neither the leaked one nor the one before it is kept");
    fire(&f, "session-3").await;
    let worker = Worker::new(f.store.clone(), f.sender.clone(), f.clock.clone(), DeliveryConfig::default());
    worker.run_pending().await.unwrap();
    let delivery = receiver.received().pop().unwrap();
    assert_eq!(signed_with(&delivery, "a-brand-new-secret"), (true, 1));
    assert!(!signed_with(&delivery, &newer).0);
    assert!(!signed_with(&delivery, &new).0);
    let too_long = WebhookPatch {
        secret: Some(NewSecret::Generate),
        old_secret_valid_for: Some(Millis::days(8)),
        ..WebhookPatch::default()
    };
    let (field, problem, allowed) =
        invalid_field(f.manager.update(&f.company, &webhook.id, too_long).await.unwrap_err());
    assert_eq!((field, problem.as_str()), ("oldSecretValidForSeconds", "is 691200 seconds"));
    assert!(allowed.contains("604800"), "{allowed}");
    let (kept, _) = f.manager.find(&f.company, &webhook.id).await.unwrap();
    assert_eq!(kept.secret.as_deref(), Some("a-brand-new-secret"));
}

#[test]
fn debug_output_leaves_secrets_and_header_values_out() {
    let input = WebhookInput {
        url: "https://example.com/hook".into(),
        secret: Some("whsec_do-not-print".into()),
        custom_headers: vec![("Authorization".into(), "Bearer do-not-print".into())],
        ..WebhookInput::default()
    };
    let patch = WebhookPatch {
        secret: Some(NewSecret::Given("do-not-print".into())),
        custom_headers: Some(input.custom_headers.clone()),
        ..WebhookPatch::default()
    };
    for shown in [format!("{input:?}"), format!("{patch:?}")] {
        assert!(!shown.contains("do-not-print"), "{shown}");
        assert!(shown.contains("Authorization") && shown.contains("<redacted>"), "{shown}");
    }
}
