//! The conformance suite: the behaviour every [`Store`] must have, written once.
//!
//! A store crate instantiates it with [`conformance_tests!`], giving a function that returns a
//! fresh, empty store (and whatever guard keeps it alive). Each case becomes its own test.

use std::sync::Arc;

use screenhook_domain::{
    ApiKey, Candidate, CertificationRequestId, Change, Company, CompanyId, CompanyTest, CompanyTestSession,
    DeadlineKind, DomainEvent, EventKind, Expected, FrameworkId, Guard, Integrations, IntegrityReview, Millis,
    Permission, SessionId, SessionStatus, StandardizedTestId, TestId, TestStatus, Timestamp, VerificationStatus,
    Webhook, WebhookId, WebhookState,
};
use serde_json::json;

use crate::{
    AtsIdType, AttemptRecord, AttemptResult, CertifyImported, CertifyRecord, ClaimedDelivery, DeliveryBucket,
    DeliveryFilter, DeliveryState, HealthPolicy, MAX_SERIES_BUCKETS, Page, Purged, QueueBucket, QueueStats, Resealed,
    SessionFilter, Store, StoreError,
};

/// Instantiates every conformance case as a `#[tokio::test]` against stores made by `$make`,
/// an async function returning `(Arc<dyn Store>, guard)`, or an `Option` of it for a store
/// that needs an outside server: `None` skips the case (`$make` prints why).
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@cases $make;
            company_round_trip,
            api_keys_are_found_by_public_id_and_revoked_once,
            duplicate_company_is_refused,
            created_aggregates_read_back_with_their_events,
            updates_need_the_expected_version,
            a_rejected_change_writes_nothing,
            creating_an_existing_aggregate_conflicts,
            versions_must_advance_by_one,
            guards_hold_a_change_to_the_versions_it_read,
            timers_follow_session_state,
            outbox_sequence_follows_commit_order,
            concurrent_changes_to_different_sessions_all_commit,
            concurrent_changes_to_one_session_commit_once,
            a_bad_change_in_a_burst_fails_alone,
            reads_are_scoped_to_the_company,
            session_queries,
            sessions_by_ats_id_and_unscoped_id,
            company_sessions_are_newest_first_and_paged,
            company_sessions_filter_by_test_status_and_verification,
            company_sessions_leave_deleted_out_unless_asked,
            company_sessions_are_scoped_to_the_company,
            events_fan_out_to_subscribed_webhooks_only,
            webhook_secrets_come_back_as_saved_and_reseal_only_what_is_stale,
            session_tokens_come_back_from_every_read_as_written,
            claimed_deliveries_carry_their_event_and_are_recorded,
            fresh_deliveries_are_handed_over_leased_once_committed,
            a_session_events_are_delivered_in_order,
            deliveries_due_behind_full_claims_are_not_left_behind,
            a_live_interview_events_are_delivered_in_order,
            a_failure_pauses_the_webhook_until_one_probe_succeeds,
            stale_claims_cannot_record,
            a_claim_records_once,
            released_deliveries_are_claimable_again_unless_claimed_since,
            consecutive_failures_disable_and_email_and_nothing_is_dropped,
            given_up_deliveries_free_their_session_and_can_be_recovered,
            replay_queues_the_same_event_again,
            deleting_a_webhook_cancels_its_queue,
            queue_stats_count_unfinished_deliveries_by_bucket,
            retention_purges_finished_history_only,
            delivery_log_is_scoped_to_the_company,
            delivery_series_counts_deliveries_by_creation_and_state,
            delivery_series_latency_percentiles_are_nearest_rank_by_attempt_time,
            delivery_series_is_scoped_to_the_company_and_webhook,
            delivery_series_windows_are_bounded,
            certify_imports_write_each_record_whole_once_and_fire_nothing,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $crate::conformance::Fixture::into_store($make().await) else { return };
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

/// What a `conformance_tests!` store maker returns: a store and a guard that keeps it alive,
/// or nothing when the case must be skipped.
pub trait Fixture {
    type Guard;
    fn into_store(self) -> Option<(Arc<dyn Store>, Self::Guard)>;
}

impl<G> Fixture for (Arc<dyn Store>, G) {
    type Guard = G;
    fn into_store(self) -> Option<(Arc<dyn Store>, G)> {
        Some(self)
    }
}

impl<G> Fixture for Option<(Arc<dyn Store>, G)> {
    type Guard = G;
    fn into_store(self) -> Option<(Arc<dyn Store>, G)> {
        self
    }
}

/// The time the fixtures below are created at. The fixtures are public so that tests of one
/// store's own extras can reuse them.
pub const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn company_id(name: &str) -> CompanyId {
    CompanyId::parse(name).unwrap()
}

pub fn company(name: &str) -> Company {
    Company {
        id: company_id(name),
        name: name.to_uppercase(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: T0,
        disabled_at: None,
    }
}

pub fn test_of(company: &str, id: &str) -> CompanyTest {
    CompanyTest {
        id: TestId::parse(id).unwrap(),
        company_id: company_id(company),
        version: 1,
        title: format!("Test {id}"),
        external_title: format!("Test {id}"),
        internal_description: None,
        framework_id: Some(FrameworkId::parse("general-coding").unwrap()),
        proctored: false,
        duration: Millis::minutes(70),
        default_expiration: Millis::days(14),
        result_date_limit: None,
        labels: vec![],
        status: TestStatus::Active,
        create_date: T0,
        update_date: T0,
    }
}

pub fn session_of(test: &CompanyTest, id: &str, email: &str) -> CompanyTestSession {
    CompanyTestSession {
        id: SessionId::parse(id).unwrap(),
        company_id: test.company_id.clone(),
        test_id: test.id.clone(),
        version: 1,
        test_title: test.title.clone(),
        framework_id: test.framework_id.clone(),
        proctored: test.proctored,
        candidate: Candidate { first_name: "Jane".into(), last_name: "Doe".into(), email: email.into() },
        external_id: None,
        integrations: Integrations::default(),
        status: SessionStatus::Pending,
        opened: false,
        verification_status: None,
        verification_rejection_reasons: vec![],
        integrity: IntegrityReview::default(),
        integrity_review_due: None,
        result: None,
        duration: test.duration,
        custom_duration: None,
        create_date: T0,
        start_date: None,
        finish_date: None,
        expiration_date: T0.plus(test.default_expiration),
        retake_of: None,
        retake_session: None,
        reactivated_session: None,
        candidate_token: format!("{id}.secret-{id}"),
        certify_request_id: None,
    }
}

/// A finished session `id` of the acme test with a result, with the given tokens.
pub fn session_with_result(id: &str, candidate_token: &str, report_token: &str) -> CompanyTestSession {
    let session = session_of(&test_of("acme", "acme-test"), id, "jane@example.com");
    CompanyTestSession {
        status: SessionStatus::Over,
        start_date: Some(T0),
        finish_date: Some(T0.plus(Millis::minutes(30))),
        candidate_token: candidate_token.into(),
        result: Some(screenhook_domain::TestResult {
            score: 900,
            max_score: 1000,
            coding_score_2023: Some(540),
            legacy_coding_score: Some(780),
            skill_areas: vec![],
            duration: Millis::minutes(30),
            report_access_token: report_token.into(),
            source_session_id: session.id.clone(),
            started_at: T0,
            finished_at: T0.plus(Millis::minutes(30)),
            plagiarism: None,
        }),
        ..session
    }
}

fn event_for(session: &CompanyTestSession, kind: EventKind, at: Timestamp) -> DomainEvent {
    DomainEvent {
        kind,
        triggered_on: at,
        company_id: session.company_id.clone(),
        session_id: Some(session.id.clone()),
        test_id: Some(session.test_id.clone()),
        payload: json!({ "testSessionId": session.id.as_str(), "testId": session.test_id.as_str() }),
    }
}

/// The next version of `session`, started at `at`.
fn started(session: &CompanyTestSession, at: Timestamp) -> CompanyTestSession {
    CompanyTestSession {
        version: session.version + 1,
        status: SessionStatus::Active,
        start_date: Some(at),
        ..session.clone()
    }
}

/// Stores a company, a test and one pending session; returns the test and session.
pub async fn seed(store: &dyn Store, company_name: &str, session_id: &str) -> (CompanyTest, CompanyTestSession) {
    if store.company(&company_id(company_name)).await.unwrap().is_none() {
        store.insert_company(&company(company_name)).await.unwrap();
    }
    let test = test_of(company_name, &format!("{company_name}-test"));
    if store.test(&test.company_id, &test.id).await.unwrap().is_none() {
        store.apply(Change { tests: vec![(test.clone(), Expected::New)], ..Change::default() }).await.unwrap();
    }
    let session = session_of(&test, session_id, &format!("{session_id}@example.com"));
    store
        .apply(Change {
            sessions: vec![(session.clone(), Expected::New)],
            events: vec![event_for(&session, EventKind::CompanyTestSessionCreated, T0)],
            ..Change::default()
        })
        .await
        .unwrap();
    (test, session)
}

pub async fn company_round_trip(store: Arc<dyn Store>) {
    let mut acme = company("acme");
    store.insert_company(&acme).await.unwrap();
    assert_eq!(store.company(&acme.id).await.unwrap(), Some(acme.clone()));
    acme.sandbox = true;
    acme.clock_offset = Millis::days(3);
    store.update_company(&acme).await.unwrap();
    assert_eq!(store.company(&acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(store.companies().await.unwrap(), vec![acme]);
    assert_eq!(store.company(&company_id("nobody")).await.unwrap(), None);
}

pub async fn api_keys_are_found_by_public_id_and_revoked_once(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    let key = ApiKey {
        public_id: "pub1".into(),
        company_id: company_id("acme"),
        secret_sha256: "ab".repeat(32),
        description: "ci".into(),
        permissions: vec![Permission::Tests, Permission::Webhooks],
        created_at: T0,
        revoked_at: None,
    };
    store.insert_api_key(&key).await.unwrap();
    assert!(matches!(store.insert_api_key(&key).await.unwrap_err(), StoreError::Duplicate { .. }));
    assert_eq!(store.api_key("pub1").await.unwrap(), Some(key.clone()));
    assert_eq!(store.api_keys(&key.company_id).await.unwrap(), vec![key.clone()]);
    assert_eq!(store.api_key("nope").await.unwrap(), None);
    // Another company cannot revoke it.
    assert!(!store.revoke_api_key(&company_id("globex"), "pub1", T0).await.unwrap());
    assert!(store.revoke_api_key(&key.company_id, "pub1", T0).await.unwrap());
    assert!(!store.revoke_api_key(&key.company_id, "pub1", T0).await.unwrap(), "already revoked");
    let revoked = store.api_key("pub1").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(T0));
    assert!(!revoked.allows(Permission::Tests));
}

pub async fn duplicate_company_is_refused(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    let err = store.insert_company(&company("acme")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
}

pub async fn created_aggregates_read_back_with_their_events(store: Arc<dyn Store>) {
    let (test, session) = seed(&*store, "acme", "s1").await;
    assert_eq!(store.test(&test.company_id, &test.id).await.unwrap(), Some(test.clone()));
    assert_eq!(store.tests(&test.company_id).await.unwrap(), vec![test.clone()]);
    assert_eq!(store.session(&session.company_id, &session.id).await.unwrap(), Some(session.clone()));
    assert_eq!(store.session_unscoped(&session.id).await.unwrap(), Some(session.clone()));
    let events = store.events_of_session(&session.company_id, &session.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::CompanyTestSessionCreated);
    assert_eq!(events[0].payload, json!({ "testSessionId": "s1", "testId": "acme-test" }));
    assert!(events[0].id.as_str().starts_with("evt_"));
}

pub async fn updates_need_the_expected_version(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let at = T0.plus(Millis::HOUR);
    let v2 = started(&session, at);
    store
        .apply(Change {
            sessions: vec![(v2.clone(), Expected::Version(1))],
            events: vec![event_for(&v2, EventKind::CompanyTestSessionStarted, at)],
            ..Change::default()
        })
        .await
        .unwrap();
    // A second decision made on version 1 must not commit.
    let stale = started(&session, at.plus(Millis::SECOND));
    let err = store
        .apply(Change {
            sessions: vec![(stale, Expected::Version(1))],
            events: vec![event_for(&session, EventKind::CompanyTestSessionStarted, at)],
            ..Change::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.session(&session.company_id, &session.id).await.unwrap(), Some(v2));
    let kinds: Vec<_> =
        store.events_of_session(&session.company_id, &session.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::CompanyTestSessionCreated, EventKind::CompanyTestSessionStarted]);
}

/// A transition is never committed without its outbox rows, nor rows without it: when any
/// write of a change fails, none of its writes and none of its events are visible.
pub async fn a_rejected_change_writes_nothing(store: Arc<dyn Store>) {
    let (test, first) = seed(&*store, "acme", "s1").await;
    let second = session_of(&test, "s2", "s2@example.com");
    let at = T0.plus(Millis::HOUR);
    let stale = CompanyTestSession { version: 8, ..started(&first, at) };
    let before = store.events_after(0, 100).await.unwrap();
    let err = store
        .apply(Change {
            // The new session would be fine; the stale update of the first one is not.
            sessions: vec![(second.clone(), Expected::New), (stale, Expected::Version(7))],
            events: vec![
                event_for(&second, EventKind::CompanyTestSessionCreated, at),
                event_for(&first, EventKind::CompanyTestSessionStarted, at),
            ],
            ..Change::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.session(&second.company_id, &second.id).await.unwrap(), None);
    assert_eq!(store.session(&first.company_id, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.events_after(0, 100).await.unwrap(), before);
    // The timer of the session that was not created must not exist either.
    let timers = store.due_timers(T0.plus(Millis::days(365)), 100).await.unwrap();
    assert_eq!(timers.iter().map(|t| t.session_id.as_str()).collect::<Vec<_>>(), vec!["s1"]);
}

pub async fn creating_an_existing_aggregate_conflicts(store: Arc<dyn Store>) {
    let (test, session) = seed(&*store, "acme", "s1").await;
    let err = store
        .apply(Change { sessions: vec![(session.clone(), Expected::New)], ..Change::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let err = store.apply(Change { tests: vec![(test, Expected::New)], ..Change::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

pub async fn versions_must_advance_by_one(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let mut skipped = started(&session, T0);
    skipped.version = 3;
    let err =
        store.apply(Change { sessions: vec![(skipped, Expected::Version(1))], ..Change::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidChange(_)), "{err:?}");
    assert_eq!(store.session(&session.company_id, &session.id).await.unwrap(), Some(session));
}

/// Invites `id` to `test`, decided on the test at `version`.
fn guarded_invite(test: &CompanyTest, id: &str, version: u64) -> Change {
    let session = session_of(test, id, &format!("{id}@example.com"));
    Change {
        events: vec![event_for(&session, EventKind::CompanyTestSessionCreated, T0)],
        sessions: vec![(session, Expected::New)],
        guards: vec![Guard { company_id: test.company_id.clone(), test_id: test.id.clone(), version }],
        ..Change::default()
    }
}

pub async fn guards_hold_a_change_to_the_versions_it_read(store: Arc<dyn Store>) {
    let (test, _) = seed(&*store, "acme", "s1").await;
    let invite = |id: &str, version| guarded_invite(&test, id, version);
    store.apply(invite("s2", 1)).await.unwrap();
    // The test moves on (archived, say): a decision made on version 1 no longer commits.
    let archived = CompanyTest { version: 2, status: TestStatus::Archived, ..test.clone() };
    store.apply(Change { tests: vec![(archived, Expected::Version(1))], ..Change::default() }).await.unwrap();
    let err = store.apply(invite("s3", 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.session(&test.company_id, &SessionId::parse("s3").unwrap()).await.unwrap(), None);
    // Another company's test never satisfies a guard.
    store.insert_company(&company("globex")).await.unwrap();
    let mut foreign = invite("s4", 2);
    foreign.guards[0].company_id = company_id("globex");
    assert!(matches!(store.apply(foreign).await.unwrap_err(), StoreError::Conflict { .. }));
    store.apply(invite("s5", 2)).await.unwrap();
}

pub async fn timers_follow_session_state(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let expiry = session.expiration_date;
    assert_eq!(store.next_timer_due().await.unwrap(), Some(expiry));
    assert!(store.due_timers(expiry.plus(Millis::from_millis(-1)), 10).await.unwrap().is_empty());
    let due = store.due_timers(expiry, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].kind, due[0].due, due[0].session_id.clone()),
        (DeadlineKind::Expiry, expiry, session.id.clone())
    );
    assert_eq!(due[0].company_id, session.company_id);

    // Starting replaces the expiry with the time limit.
    let at = T0.plus(Millis::HOUR);
    let active = started(&session, at);
    store.apply(Change { sessions: vec![(active.clone(), Expected::Version(1))], ..Change::default() }).await.unwrap();
    let due = store.due_timers(T0.plus(Millis::days(365)), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].kind, due[0].due), (DeadlineKind::TimeLimit, at.plus(session.duration)));

    // A finished custom session whose integrity review is done needs no timer.
    let over = CompanyTestSession { version: 3, status: SessionStatus::Declined, ..active };
    store.apply(Change { sessions: vec![(over, Expected::Version(2))], ..Change::default() }).await.unwrap();
    assert!(store.due_timers(T0.plus(Millis::days(365)), 10).await.unwrap().is_empty());
    assert_eq!(store.next_timer_due().await.unwrap(), None);
}

pub async fn outbox_sequence_follows_commit_order(store: Arc<dyn Store>) {
    let (_, first) = seed(&*store, "acme", "s1").await;
    let (_, second) = seed(&*store, "acme", "s2").await;
    let at = T0.plus(Millis::HOUR);
    let started_first = started(&first, at);
    let applied = store
        .apply(Change {
            sessions: vec![(started_first.clone(), Expected::Version(1))],
            events: vec![
                event_for(&started_first, EventKind::CompanyTestSessionStarted, at),
                event_for(&started_first, EventKind::PreScreenIntegrityReviewUpdated, at),
            ],
            ..Change::default()
        })
        .await
        .unwrap();
    assert_eq!(applied.events.len(), 2);
    assert!(applied.events[0].seq < applied.events[1].seq);
    let all = store.events_after(0, 100).await.unwrap();
    let order: Vec<_> = all.iter().map(|e| (e.session_id.clone().unwrap(), e.kind)).collect();
    assert_eq!(
        order,
        vec![
            (first.id.clone(), EventKind::CompanyTestSessionCreated),
            (second.id.clone(), EventKind::CompanyTestSessionCreated),
            (first.id.clone(), EventKind::CompanyTestSessionStarted),
            (first.id.clone(), EventKind::PreScreenIntegrityReviewUpdated),
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let ids: std::collections::HashSet<_> = all.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), all.len(), "event ids are unique");
    assert_eq!(store.events_after(all[1].seq, 100).await.unwrap(), all[2..].to_vec());
    assert_eq!(store.events_after(0, 1).await.unwrap(), all[..1].to_vec());
}

pub async fn concurrent_changes_to_different_sessions_all_commit(store: Arc<dyn Store>) {
    let (test, _) = seed(&*store, "acme", "s0").await;
    let mut handles = Vec::new();
    for n in 0..200 {
        let store = store.clone();
        let session = session_of(&test, &format!("c{n}"), &format!("c{n}@example.com"));
        handles.push(tokio::spawn(async move {
            store
                .apply(Change {
                    events: vec![event_for(&session, EventKind::CompanyTestSessionCreated, T0)],
                    sessions: vec![(session, Expected::New)],
                    ..Change::default()
                })
                .await
        }));
    }
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
    assert_eq!(store.events_after(0, 1000).await.unwrap().len(), 201);
    let listed = store.sessions_of_test(&test.company_id, &test.id, Page { first: 1000, offset: 0 }).await.unwrap();
    assert_eq!(listed.len(), 201);
}

pub async fn concurrent_changes_to_one_session_commit_once(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let mut handles = Vec::new();
    for n in 0..20 {
        let store = store.clone();
        let at = T0.plus(Millis::from_millis(n));
        let next = started(&session, at);
        handles.push(tokio::spawn(async move {
            store
                .apply(Change {
                    events: vec![event_for(&next, EventKind::CompanyTestSessionStarted, at)],
                    sessions: vec![(next, Expected::Version(1))],
                    ..Change::default()
                })
                .await
        }));
    }
    let mut won = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let events = store.events_of_session(&session.company_id, &session.id).await.unwrap();
    assert_eq!(events.len(), 2, "one created, one started");
}

/// A store may commit concurrent changes together (group commit); whatever it does, each change
/// still commits or fails on its own: a stale version, a taken id or a stale guard fails that
/// change alone, with nothing of it written, and every other change commits with its own events.
pub async fn a_bad_change_in_a_burst_fails_alone(store: Arc<dyn Store>) {
    let (test, seeded) = seed(&*store, "acme", "s0").await;
    let invite = |id: &str, guard_version| guarded_invite(&test, id, guard_version);
    let mut changes = Vec::new();
    for n in 0..120 {
        let change = match n % 30 {
            7 => invite("s0", 1),              // the id is taken
            13 => invite(&format!("g{n}"), 9), // the guard is stale
            21 => {
                let next = CompanyTestSession { version: 5, ..started(&seeded, T0) };
                Change {
                    events: vec![event_for(&next, EventKind::CompanyTestSessionStarted, T0)],
                    sessions: vec![(next, Expected::Version(4))], // the version is stale
                    ..Change::default()
                }
            }
            _ => invite(&format!("c{n}"), 1),
        };
        changes.push((n, change));
    }
    let handles: Vec<_> = changes
        .into_iter()
        .map(|(n, change)| {
            let store = store.clone();
            tokio::spawn(async move { (n, change.sessions[0].0.id.clone(), store.apply(change).await) })
        })
        .collect();
    let mut committed = 0;
    for handle in handles {
        let (n, id, result) = handle.await.unwrap();
        match (n % 30, result) {
            (7 | 13 | 21, Err(StoreError::Conflict { .. })) => {}
            (7 | 13 | 21, other) => panic!("change {n} should conflict: {other:?}"),
            (_, Ok(applied)) => {
                committed += 1;
                assert_eq!(applied.events.len(), 1, "change {n}: {applied:?}");
                assert_eq!(applied.events[0].session_id.as_ref(), Some(&id), "change {n} got its own event");
                assert!(applied.events[0].seq > 0);
            }
            (_, Err(err)) => panic!("change {n} failed: {err:?}"),
        }
    }
    assert_eq!(committed, 108);
    assert_eq!(store.events_after(0, 1000).await.unwrap().len(), 1 + 108, "nothing of a failed change");
    let listed = store.sessions_of_test(&test.company_id, &test.id, Page { first: 1000, offset: 0 }).await.unwrap();
    assert_eq!(listed.len(), 1 + 108);
    assert_eq!(store.session(&test.company_id, &seeded.id).await.unwrap().unwrap().version, seeded.version);
}

pub async fn reads_are_scoped_to_the_company(store: Arc<dyn Store>) {
    let (test, session) = seed(&*store, "acme", "s1").await;
    store.insert_company(&company("globex")).await.unwrap();
    let other = company_id("globex");
    assert_eq!(store.test(&other, &test.id).await.unwrap(), None);
    assert!(store.tests(&other).await.unwrap().is_empty());
    assert_eq!(store.session(&other, &session.id).await.unwrap(), None);
    assert!(store.sessions_of_test(&other, &test.id, Page { first: 10, offset: 0 }).await.unwrap().is_empty());
    assert_eq!(store.pending_session_for(&other, &test.id, &session.candidate.email).await.unwrap(), None);
    assert!(store.events_of_session(&other, &session.id).await.unwrap().is_empty());
    // Writing another company's session under your own company id finds nothing to update.
    let mut hijack = started(&session, T0);
    hijack.company_id = other;
    let err =
        store.apply(Change { sessions: vec![(hijack, Expected::Version(1))], ..Change::default() }).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

pub async fn session_queries(store: Arc<dyn Store>) {
    let (test, first) = seed(&*store, "acme", "s1").await;
    let (_, second) = seed(&*store, "acme", "s2").await;
    let (_, third) = seed(&*store, "acme", "s3").await;
    // Finish s1 early and s3 late; s2 stays pending.
    for (session, finished_at) in [(&first, T0.plus(Millis::HOUR)), (&third, T0.plus(Millis::days(2)))] {
        let over = CompanyTestSession {
            version: 2,
            status: SessionStatus::Over,
            start_date: Some(T0),
            finish_date: Some(finished_at),
            integrity: IntegrityReview { finalized: true, suggested: Some(false), ..IntegrityReview::default() },
            ..session.clone()
        };
        store.apply(Change { sessions: vec![(over, Expected::Version(1))], ..Change::default() }).await.unwrap();
    }
    let order: Vec<_> = store
        .sessions_of_test(&test.company_id, &test.id, Page { first: 10, offset: 0 })
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(order, vec!["s3", "s1", "s2"], "newest finish first, unfinished last");
    let page: Vec<_> = store
        .sessions_of_test(&test.company_id, &test.id, Page { first: 1, offset: 1 })
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(page, vec!["s1"]);

    let pending = store.pending_session_for(&test.company_id, &test.id, "s2@example.com").await.unwrap();
    assert_eq!(pending.map(|s| s.id), Some(second.id.clone()));
    assert_eq!(store.pending_session_for(&test.company_id, &test.id, "s1@example.com").await.unwrap(), None);

    let framework = test.framework_id.clone().unwrap();
    let history = store.sessions_of_candidate("s3@example.com", &framework).await.unwrap();
    assert_eq!(history.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), vec![third.id.clone()]);
    let other_framework = FrameworkId::parse("data-analytics").unwrap();
    assert!(store.sessions_of_candidate("s3@example.com", &other_framework).await.unwrap().is_empty());
}

pub async fn sessions_by_ats_id_and_unscoped_id(store: Arc<dyn Store>) {
    let (test, _) = seed(&*store, "acme", "s1").await;
    let mut linked = session_of(&test, "s2", "s2@example.com");
    linked.integrations.greenhouse_application_id = Some("app-7".into());
    linked.integrations.greenhouse_candidate_id = Some("cand-9".into());
    store.apply(Change { sessions: vec![(linked.clone(), Expected::New)], ..Change::default() }).await.unwrap();
    let by_app = store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseApplicationId, "app-7").await.unwrap();
    assert_eq!(by_app.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec!["s2"]);
    let by_candidate =
        store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseCandidateId, "cand-9").await.unwrap();
    assert_eq!(by_candidate.len(), 1);
    assert!(
        store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseCandidateId, "app-7").await.unwrap().is_empty()
    );
    store.insert_company(&company("globex")).await.unwrap();
    assert!(
        store
            .sessions_by_ats_id(&company_id("globex"), AtsIdType::GreenhouseApplicationId, "app-7")
            .await
            .unwrap()
            .is_empty()
    );
    // Any company's session by id alone: what the engine checks a candidate link against.
    assert_eq!(store.session_unscoped(&linked.id).await.unwrap().map(|s| s.id), Some(linked.id));
    assert_eq!(store.session_unscoped(&SessionId::parse("nope").unwrap()).await.unwrap(), None);
}

// The console's session list.

/// Stores `session` as new, with its creation event.
async fn create(store: &dyn Store, session: &CompanyTestSession) {
    store
        .apply(Change {
            sessions: vec![(session.clone(), Expected::New)],
            events: vec![event_for(session, EventKind::CompanyTestSessionCreated, session.create_date)],
            ..Change::default()
        })
        .await
        .unwrap();
}

/// Moves the stored `session` on to `status` and `verification`, as an update (version + 1).
async fn moved(
    store: &dyn Store,
    session: &CompanyTestSession,
    status: SessionStatus,
    verification: Option<VerificationStatus>,
) -> CompanyTestSession {
    let current = store.session(&session.company_id, &session.id).await.unwrap().unwrap();
    let next = CompanyTestSession {
        version: current.version + 1,
        status,
        verification_status: verification,
        ..current.clone()
    };
    store
        .apply(Change { sessions: vec![(next.clone(), Expected::Version(current.version))], ..Change::default() })
        .await
        .unwrap();
    next
}

/// Acme's sessions for the console cases, oldest created first:
///
/// | id | test       | created  | status  | verification |
/// |----|------------|----------|---------|--------------|
/// | s1 | acme-test  | T0       | pending | –            |
/// | s2 | acme-test  | T0 + 1m  | over    | verified     |
/// | s3 | acme-other | T0 + 2m  | active  | pending      |
/// | s4 | acme-other | T0 + 2m  | pending | –            |
/// | s5 | acme-test  | T0 + 3m  | deleted | –            |
/// | s6 | acme-test  | T0 + 4m  | over    | pending      |
///
/// s3 and s4 were created at the same time (s4 lists first: ties go by id, descending). s2, s5
/// and s6 reached their status by updates, the others were created with it. Globex has a
/// session of its own (g1, created T0 + 10m, over, verification pending).
async fn seed_console(store: &dyn Store) -> (CompanyTest, CompanyTest) {
    let (test, _) = seed(store, "acme", "s1").await;
    let other = test_of("acme", "acme-other");
    store.apply(Change { tests: vec![(other.clone(), Expected::New)], ..Change::default() }).await.unwrap();
    let at = |minutes| T0.plus(Millis::minutes(minutes));
    let s2 = CompanyTestSession { create_date: at(1), proctored: true, ..session_of(&test, "s2", "s2@example.com") };
    create(store, &s2).await;
    moved(store, &s2, SessionStatus::Active, Some(VerificationStatus::Pending)).await;
    moved(store, &s2, SessionStatus::Over, Some(VerificationStatus::Verified)).await;
    let s3 = CompanyTestSession {
        create_date: at(2),
        status: SessionStatus::Active,
        verification_status: Some(VerificationStatus::Pending),
        start_date: Some(at(2)),
        ..session_of(&other, "s3", "s3@example.com")
    };
    create(store, &s3).await;
    create(store, &CompanyTestSession { create_date: at(2), ..session_of(&other, "s4", "s4@example.com") }).await;
    let s5 = CompanyTestSession { create_date: at(3), ..session_of(&test, "s5", "s5@example.com") };
    create(store, &s5).await;
    moved(store, &s5, SessionStatus::Deleted, None).await;
    let s6 = CompanyTestSession { create_date: at(4), ..session_of(&test, "s6", "s6@example.com") };
    create(store, &s6).await;
    moved(store, &s6, SessionStatus::Over, Some(VerificationStatus::Pending)).await;

    let (globex_test, _) = seed(store, "globex", "g0").await;
    let g1 = CompanyTestSession {
        create_date: at(10),
        status: SessionStatus::Over,
        verification_status: Some(VerificationStatus::Pending),
        ..session_of(&globex_test, "g1", "g1@example.com")
    };
    create(store, &g1).await;
    (test, other)
}

async fn listed(store: &dyn Store, company: &str, filter: SessionFilter, page: Page) -> Vec<String> {
    store
        .company_sessions(&company_id(company), &filter, page)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect()
}

const ALL: Page = Page { first: 100, offset: 0 };

pub async fn company_sessions_are_newest_first_and_paged(store: Arc<dyn Store>) {
    seed_console(&*store).await;
    let everything = listed(&*store, "acme", SessionFilter::default(), ALL).await;
    assert_eq!(everything, vec!["s6", "s4", "s3", "s2", "s1"], "newest created first, ties by id descending");
    let page = |first, offset| listed(&*store, "acme", SessionFilter::default(), Page { first, offset });
    assert_eq!(page(2, 0).await, vec!["s6", "s4"]);
    assert_eq!(page(2, 2).await, vec!["s3", "s2"]);
    assert_eq!(page(2, 4).await, vec!["s1"]);
    assert!(page(2, 5).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    // The documents read back whole, at their latest version.
    let sessions = store
        .company_sessions(&company_id("acme"), &SessionFilter::default(), Page { first: 1, offset: 3 })
        .await
        .unwrap();
    assert_eq!(
        sessions,
        vec![store.session(&company_id("acme"), &SessionId::parse("s2").unwrap()).await.unwrap().unwrap()]
    );
    assert_eq!((sessions[0].version, sessions[0].status), (3, SessionStatus::Over));
}

pub async fn company_sessions_filter_by_test_status_and_verification(store: Arc<dyn Store>) {
    let (test, other) = seed_console(&*store).await;
    let list = |filter| listed(&*store, "acme", filter, ALL);
    let by_test = |test: &CompanyTest| SessionFilter { test: Some(test.id.clone()), ..SessionFilter::default() };
    assert_eq!(list(by_test(&test)).await, vec!["s6", "s2", "s1"]);
    assert_eq!(list(by_test(&other)).await, vec!["s4", "s3"]);
    let by_status = |status| SessionFilter { status: Some(status), ..SessionFilter::default() };
    assert_eq!(list(by_status(SessionStatus::Over)).await, vec!["s6", "s2"], "updated to over");
    assert_eq!(list(by_status(SessionStatus::Pending)).await, vec!["s4", "s1"]);
    assert_eq!(list(by_status(SessionStatus::Active)).await, vec!["s3"], "created active");
    assert!(list(by_status(SessionStatus::Expired)).await.is_empty());
    let by_verification = |v| SessionFilter { verification: Some(v), ..SessionFilter::default() };
    assert_eq!(list(by_verification(VerificationStatus::Pending)).await, vec!["s6", "s3"], "the Proctoring queue");
    assert_eq!(list(by_verification(VerificationStatus::Verified)).await, vec!["s2"], "updated to verified");
    assert!(list(by_verification(VerificationStatus::NotVerified)).await.is_empty());
    // Filters combine.
    let combined = |test: &CompanyTest, status, verification| SessionFilter {
        test: Some(test.id.clone()),
        status: Some(status),
        verification: Some(verification),
    };
    assert_eq!(list(combined(&test, SessionStatus::Over, VerificationStatus::Pending)).await, vec!["s6"]);
    assert!(list(combined(&other, SessionStatus::Over, VerificationStatus::Pending)).await.is_empty());
    assert_eq!(
        list(SessionFilter { test: Some(test.id.clone()), status: Some(SessionStatus::Over), verification: None })
            .await,
        vec!["s6", "s2"]
    );
    assert_eq!(
        list(SessionFilter {
            test: Some(other.id.clone()),
            status: None,
            verification: Some(VerificationStatus::Pending)
        })
        .await,
        vec!["s3"]
    );
    // Paging applies after filtering.
    let pending = by_verification(VerificationStatus::Pending);
    assert_eq!(listed(&*store, "acme", pending.clone(), Page { first: 1, offset: 1 }).await, vec!["s3"]);
    // An unknown test lists nothing.
    assert!(
        list(SessionFilter { test: Some(TestId::parse("nope").unwrap()), ..SessionFilter::default() }).await.is_empty()
    );
}

pub async fn company_sessions_leave_deleted_out_unless_asked(store: Arc<dyn Store>) {
    let (test, _) = seed_console(&*store).await;
    let list = |filter| listed(&*store, "acme", filter, ALL);
    assert!(!list(SessionFilter::default()).await.contains(&"s5".to_string()));
    let deleted = SessionFilter { status: Some(SessionStatus::Deleted), ..SessionFilter::default() };
    assert_eq!(list(deleted.clone()).await, vec!["s5"]);
    assert_eq!(list(SessionFilter { test: Some(test.id.clone()), ..deleted }).await, vec!["s5"]);
    assert!(
        !list(SessionFilter { test: Some(test.id.clone()), ..SessionFilter::default() })
            .await
            .contains(&"s5".to_string())
    );
}

pub async fn company_sessions_are_scoped_to_the_company(store: Arc<dyn Store>) {
    let (test, _) = seed_console(&*store).await;
    assert_eq!(listed(&*store, "globex", SessionFilter::default(), ALL).await, vec!["g1", "g0"]);
    let pending = SessionFilter { verification: Some(VerificationStatus::Pending), ..SessionFilter::default() };
    assert_eq!(listed(&*store, "globex", pending.clone(), ALL).await, vec!["g1"]);
    assert!(!listed(&*store, "acme", pending, ALL).await.contains(&"g1".to_string()));
    // Another company's test id finds nothing, for it or for the company that has it.
    let acme_test = SessionFilter { test: Some(test.id.clone()), ..SessionFilter::default() };
    assert!(listed(&*store, "globex", acme_test, ALL).await.is_empty());
    let globex_test = SessionFilter { test: Some(TestId::parse("globex-test").unwrap()), ..SessionFilter::default() };
    assert!(listed(&*store, "acme", globex_test, ALL).await.is_empty());
    assert!(listed(&*store, "nobody", SessionFilter::default(), ALL).await.is_empty());
}

// Delivery.

const LEASE: Millis = Millis::from_millis(60_000);

pub fn webhook(company: &str, id: &str, events: &[EventKind]) -> Webhook {
    Webhook {
        id: WebhookId::parse(id).unwrap(),
        company_id: company_id(company),
        url: format!("https://hooks.example.com/{id}"),
        events: events.to_vec(),
        secret: Some("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into()),
        retired_secrets: Vec::new(),
        owner_emails: vec!["ops@example.com".into()],
        custom_headers: vec![("X-Team".into(), "hiring".into())],
        created_at: T0,
        updated_at: T0,
    }
}

pub fn policy() -> HealthPolicy {
    HealthPolicy {
        probe_delays: (1..=25).map(|n| Millis::from_millis(1_000 * n)).collect(),
        disable_after: 25,
        email_after: vec![5, 14],
        email_every_from: 16,
    }
}

pub fn record(claimed: &ClaimedDelivery, at: Timestamp, result: AttemptResult) -> AttemptRecord {
    let status = if result == AttemptResult::Delivered { 200 } else { 500 };
    AttemptRecord {
        delivery_id: claimed.delivery_id,
        claim: claimed.claim,
        webhook_id: claimed.webhook_id.clone(),
        at,
        status: Some(status),
        error_class: None,
        latency_ms: 3,
        excerpt: "ok".into(),
        result,
    }
}

/// Fires one more event for `session` (a new version of it, so the change is realistic).
pub async fn fire(store: &dyn Store, session: &CompanyTestSession, kind: EventKind) {
    let current = store.session(&session.company_id, &session.id).await.unwrap().unwrap();
    let next = CompanyTestSession { version: current.version + 1, ..current.clone() };
    store
        .apply(Change {
            events: vec![event_for(&next, kind, T0)],
            sessions: vec![(next, Expected::Version(current.version))],
            ..Change::default()
        })
        .await
        .unwrap();
}

async fn claim(store: &dyn Store, now: Timestamp) -> Vec<ClaimedDelivery> {
    store.claim_deliveries(now, LEASE, 100, &[]).await.unwrap()
}

pub async fn events_fan_out_to_subscribed_webhooks_only(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_company(&company("globex")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-all", &EventKind::ALL)).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-started", &[EventKind::CompanyTestSessionStarted])).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-gone", &EventKind::ALL)).await.unwrap();
    store.delete_webhook(&company_id("acme"), &WebhookId::parse("wh-gone").unwrap()).await.unwrap();
    store.insert_webhook(&webhook("globex", "wh-other", &EventKind::ALL)).await.unwrap();
    assert!(matches!(
        store.insert_webhook(&webhook("acme", "wh-all", &[])).await.unwrap_err(),
        StoreError::Duplicate { .. }
    ));

    seed(&*store, "acme", "s1").await;
    let claimed = claim(&*store, T0).await;
    let targets: Vec<_> = claimed.iter().map(|c| (c.webhook_id.to_string(), c.event.kind)).collect();
    assert_eq!(targets, vec![("wh-all".to_string(), EventKind::CompanyTestSessionCreated)]);

    // Changing the subscription changes what the next events reach.
    let mut started_only = webhook("acme", "wh-all", &[EventKind::PreScreenExpired]);
    started_only.url = "https://hooks.example.com/moved".into();
    store.update_webhook(&started_only).await.unwrap();
    let (saved, health) = store.webhook(&company_id("acme"), &started_only.id).await.unwrap().unwrap();
    assert_eq!(saved, started_only);
    assert_eq!(health.state, WebhookState::Active);
    let listed: Vec<_> =
        store.webhooks(&company_id("acme")).await.unwrap().into_iter().map(|(w, _)| w.id.to_string()).collect();
    assert_eq!(listed, vec!["wh-all", "wh-started"]);
    assert!(store.webhook(&company_id("globex"), &started_only.id).await.unwrap().is_none());
}

pub async fn webhook_secrets_come_back_as_saved_and_reseal_only_what_is_stale(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    let mut hook = webhook("acme", "wh", &EventKind::ALL);
    hook.retired_secrets =
        vec![screenhook_domain::RetiredSecret { secret: "the-old-one".into(), until: T0.plus(Millis::DAY) }];
    store.insert_webhook(&hook).await.unwrap();
    let mut unsigned = webhook("acme", "wh-unsigned", &EventKind::ALL);
    unsigned.secret = None;
    store.insert_webhook(&unsigned).await.unwrap();
    assert_eq!(store.webhook(&company_id("acme"), &hook.id).await.unwrap().unwrap().0, hook);
    assert_eq!(store.webhook_unscoped(&unsigned.id).await.unwrap().unwrap().0, unsigned);
    assert_eq!(store.reseal_secrets().await.unwrap(), Resealed::default(), "written under the current key");
    store.delete_webhook(&company_id("acme"), &hook.id).await.unwrap();
    assert_eq!(store.reseal_secrets().await.unwrap(), Resealed::default());
}

/// The stores seal a session's tokens on the way in; every read opens them again, and a
/// reseal finds nothing to do under the key that wrote them.
pub async fn session_tokens_come_back_from_every_read_as_written(store: Arc<dyn Store>) {
    let (test, pending) = seed(&*store, "acme", "s1").await;
    let finished = CompanyTestSession { version: 1, ..session_with_result("s2", "s2.candidate", "report-s2") };
    store.apply(Change { sessions: vec![(finished.clone(), Expected::New)], ..Change::default() }).await.unwrap();
    let acme = company_id("acme");
    assert_eq!(store.session(&acme, &pending.id).await.unwrap(), Some(pending.clone()));
    assert_eq!(store.session_unscoped(&finished.id).await.unwrap(), Some(finished.clone()));
    let page = Page { first: 10, offset: 0 };
    let listed = store.company_sessions(&acme, &SessionFilter::default(), page).await.unwrap();
    assert_eq!(listed, vec![finished.clone(), pending.clone()]);
    assert_eq!(store.sessions_of_test(&acme, &test.id, page).await.unwrap(), vec![finished.clone(), pending.clone()]);
    let email = &pending.candidate.email;
    assert_eq!(store.pending_session_for(&acme, &test.id, email).await.unwrap(), Some(pending.clone()));

    // An update seals again, under a fresh nonce, what the change carries.
    let mut graded = finished.clone();
    graded.version += 1;
    graded.result.as_mut().unwrap().report_access_token = "report-s2-again".into();
    let change = Change { sessions: vec![(graded.clone(), Expected::Version(finished.version))], ..Change::default() };
    store.apply(change).await.unwrap();
    assert_eq!(store.session(&acme, &graded.id).await.unwrap(), Some(graded));
    assert_eq!(store.reseal_secrets().await.unwrap(), Resealed::default(), "written under the current key");
}

pub async fn claimed_deliveries_carry_their_event_and_are_recorded(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let (_, session) = seed(&*store, "acme", "s1").await;
    let claimed = claim(&*store, T0).await;
    assert_eq!(claimed.len(), 1);
    let delivery = &claimed[0];
    assert_eq!(delivery.attempts, 0);
    assert!(!delivery.probe);
    assert_eq!(delivery.event.payload, json!({ "testSessionId": "s1", "testId": "acme-test" }));
    assert_eq!(delivery.event.session_id.as_ref(), Some(&session.id));
    // Leased: nobody else gets it.
    assert!(claim(&*store, T0).await.is_empty());

    store.record_attempts(vec![record(delivery, T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let log = store.deliveries(&company_id("acme"), &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].state, log[0].attempts, log[0].last_status), (DeliveryState::Delivered, 1, Some(200)));
    assert_eq!(log[0].event_id, delivery.event.id);
    let attempts = store.attempts(&company_id("acme"), log[0].id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!((attempts[0].attempt, attempts[0].status, attempts[0].latency_ms), (1, Some(200), 3));
    // Even after the lease, a delivered delivery is not claimed again.
    assert!(claim(&*store, T0.plus(Millis::days(1))).await.is_empty());
}

pub async fn fresh_deliveries_are_handed_over_leased_once_committed(store: Arc<dyn Store>) {
    // A handed-over delivery is held until the wall clock passes its lease.
    use crate::handoff::wall_clock_now;
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let mut handed = store.local_deliveries(LEASE).expect("both stores hand fresh deliveries over");
    let (_, session) = seed(&*store, "acme", "s1").await;
    fire(&*store, &session, EventKind::CompanyTestSessionStarted).await;

    let fresh = handed.try_recv().expect("handed over by the time the commit returns");
    assert_eq!(fresh.len(), 1, "the second event waits behind the first: not handed over");
    let delivery = &fresh[0];
    assert_eq!((delivery.claim, delivery.attempts, delivery.probe), (1, 0, false));
    assert_eq!(delivery.event.kind, EventKind::CompanyTestSessionCreated);
    assert_eq!(delivery.event.payload, json!({ "testSessionId": "s1", "testId": "acme-test" }));
    assert!(handed.try_recv().is_err());
    assert!(claim(&*store, wall_clock_now()).await.is_empty(), "leased to this process: nobody claims it");

    // Recorded under the handed-over claim, it frees its session's next delivery, which any
    // process may claim.
    store.record_attempts(vec![record(delivery, T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let next = claim(&*store, wall_clock_now()).await;
    assert_eq!(next.iter().map(|c| c.event.kind).collect::<Vec<_>>(), [EventKind::CompanyTestSessionStarted]);
    store.record_attempts(vec![record(&next[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();

    // What a worker never finishes comes back once its lease ends, under a new claim.
    let (_, other) = seed(&*store, "acme", "s2").await;
    let unfinished = handed.try_recv().expect("handed over")[0].clone();
    assert_eq!(unfinished.event.session_id.as_ref(), Some(&other.id));
    let after_lease = claim(&*store, wall_clock_now().plus(LEASE).plus(Millis::SECOND)).await;
    assert_eq!(after_lease.iter().map(|c| c.delivery_id).collect::<Vec<_>>(), [unfinished.delivery_id]);
    assert!(after_lease[0].claim > unfinished.claim, "the old claim can no longer record");

    // With no worker listening, fresh deliveries are left for claims.
    drop(handed);
    seed(&*store, "acme", "s3").await;
    let claimed = claim(&*store, T0).await;
    assert_eq!(claimed.iter().map(|c| c.event.session_id.clone().unwrap().to_string()).collect::<Vec<_>>(), ["s3"]);
}

pub async fn released_deliveries_are_claimable_again_unless_claimed_since(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    seed(&*store, "acme", "s1").await;
    seed(&*store, "acme", "s2").await;
    let first = claim(&*store, T0).await;
    assert_eq!(first.len(), 2);
    store.release_deliveries(&[(first[0].delivery_id, first[0].claim)]).await.unwrap();
    let again = claim(&*store, T0).await;
    assert_eq!(again.len(), 1, "only the released one is claimable");
    assert_eq!(again[0].delivery_id, first[0].delivery_id);
    assert!(again[0].claim > first[0].claim, "a new claim, a new fencing token");
    // The first claim's token is stale now: releasing under it changes nothing.
    store.release_deliveries(&[(first[0].delivery_id, first[0].claim)]).await.unwrap();
    assert!(claim(&*store, T0).await.is_empty(), "still leased to the second claim");
    store.release_deliveries(&[]).await.unwrap();
}

pub async fn a_session_events_are_delivered_in_order(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let (_, session) = seed(&*store, "acme", "s1").await;
    fire(&*store, &session, EventKind::CompanyTestSessionStarted).await;
    fire(&*store, &session, EventKind::CompanyTestSessionFinished).await;
    let (_, other) = seed(&*store, "acme", "s2").await;

    let first = claim(&*store, T0).await;
    let kinds: Vec<_> = first.iter().map(|c| (c.event.session_id.clone().unwrap(), c.event.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (session.id.clone(), EventKind::CompanyTestSessionCreated),
            (other.id.clone(), EventKind::CompanyTestSessionCreated)
        ],
        "one delivery per session at a time"
    );
    let records = first.iter().map(|c| record(c, T0, AttemptResult::Delivered)).collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let second = claim(&*store, T0).await;
    assert_eq!(second.iter().map(|c| c.event.kind).collect::<Vec<_>>(), vec![EventKind::CompanyTestSessionStarted]);
    store.record_attempts(vec![record(&second[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let third = claim(&*store, T0).await;
    assert_eq!(third.iter().map(|c| c.event.kind).collect::<Vec<_>>(), vec![EventKind::CompanyTestSessionFinished]);
}

/// Claims that come back full (a backlog) do not leave behind what becomes due before the rows
/// they took: a delivery promoted behind its session's previous one is in the very next claim,
/// and deliveries whose leases ran out are taken again before the queue is empty.
pub async fn deliveries_due_behind_full_claims_are_not_left_behind(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let (_, first) = seed(&*store, "acme", "s0").await;
    fire(&*store, &first, EventKind::CompanyTestSessionStarted).await;
    for n in 1..=6 {
        seed(&*store, "acme", &format!("s{n}")).await;
    }
    let two = |now: Timestamp| {
        let store = store.clone();
        async move { store.claim_deliveries(now, LEASE, 2, &[]).await.unwrap() }
    };
    let what = |claimed: &[ClaimedDelivery]| -> Vec<(String, EventKind)> {
        claimed.iter().map(|c| (c.event.session_id.as_ref().unwrap().to_string(), c.event.kind)).collect()
    };
    let created = |s: &str| (s.to_owned(), EventKind::CompanyTestSessionCreated);

    let full = two(T0).await;
    assert_eq!(what(&full), vec![created("s0"), created("s1")]);
    store.record_attempts(vec![record(&full[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let next = two(T0).await;
    assert_eq!(what(&next)[0], ("s0".to_owned(), EventKind::CompanyTestSessionStarted), "promoted behind the claims");
    let mut taken: Vec<(String, EventKind)> = what(&next);
    taken.extend(what(&two(T0).await));
    assert_eq!(
        taken,
        vec![(first.id.to_string(), EventKind::CompanyTestSessionStarted), created("s2"), created("s3"), created("s4")]
    );

    // Every lease runs out: all of them are due again, behind s5 and s6, which never were taken.
    let later = T0.plus(LEASE).plus(Millis::from_millis(1));
    let mut again = Vec::new();
    loop {
        let claimed = two(later).await;
        if claimed.is_empty() {
            break;
        }
        again.extend(what(&claimed));
    }
    again.sort();
    let mut expected = vec![created("s1"), created("s2"), created("s3"), created("s4"), created("s5"), created("s6")];
    expected.push(("s0".to_owned(), EventKind::CompanyTestSessionStarted));
    expected.sort();
    assert_eq!(again, expected, "nothing due was left behind");
}

pub async fn a_live_interview_events_are_delivered_in_order(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let interview_event = |kind, interview: &str| DomainEvent {
        kind,
        triggered_on: T0,
        company_id: company_id("acme"),
        session_id: None,
        test_id: None,
        payload: json!({ "interviewId": interview }),
    };
    for event in [
        interview_event(EventKind::LiveInterviewFinished, "iv-1"),
        interview_event(EventKind::LiveInterviewFeedbackUpdated, "iv-1"),
        interview_event(EventKind::LiveInterviewFinished, "iv-2"),
    ] {
        store.apply(Change { events: vec![event], ..Change::default() }).await.unwrap();
    }
    let interview_of = |c: &ClaimedDelivery| c.event.payload["interviewId"].as_str().unwrap().to_owned();
    let first = claim(&*store, T0).await;
    let got: Vec<_> = first.iter().map(|c| (interview_of(c), c.event.kind)).collect();
    assert_eq!(
        got,
        [("iv-1".to_owned(), EventKind::LiveInterviewFinished), ("iv-2".to_owned(), EventKind::LiveInterviewFinished)],
        "one delivery per interview at a time"
    );
    let records = first.iter().map(|c| record(c, T0, AttemptResult::Delivered)).collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let second = claim(&*store, T0).await;
    assert_eq!(second.iter().map(|c| c.event.kind).collect::<Vec<_>>(), [EventKind::LiveInterviewFeedbackUpdated]);
}

pub async fn a_failure_pauses_the_webhook_until_one_probe_succeeds(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-healthy", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let wh = WebhookId::parse("wh").unwrap();
    let (_, failing) = seed(&*store, "acme", "s1").await;
    let claimed = claim(&*store, T0).await;
    let to_wh = claimed.iter().find(|c| c.webhook_id == wh).unwrap().clone();
    let healthy: Vec<_> =
        claimed.iter().filter(|c| c.webhook_id != wh).map(|c| record(c, T0, AttemptResult::Delivered)).collect();
    store.record_attempts(healthy, &policy()).await.unwrap();
    let retry_at = T0.plus(Millis::minutes(10));
    store.record_attempts(vec![record(&to_wh, T0, AttemptResult::RetryAt(retry_at))], &policy()).await.unwrap();
    let (_, health) = store.webhook(&acme, &wh).await.unwrap().unwrap();
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Unhealthy, 1));
    assert_eq!(health.probe_after, T0.plus(Millis::SECOND));

    // Other sessions keep queueing; the unhealthy webhook is not hit by them...
    seed(&*store, "acme", "s2").await;
    seed(&*store, "acme", "s3").await;
    let now = T0.plus(Millis::from_millis(500));
    let claimed = claim(&*store, now).await;
    assert!(claimed.iter().all(|c| c.webhook_id != wh), "paused until the probe is due");
    let healthy: Vec<_> = claimed.iter().map(|c| record(c, now, AttemptResult::Delivered)).collect();
    store.record_attempts(healthy, &policy()).await.unwrap();
    let log = store
        .deliveries(&acme, &DeliveryFilter { webhook: Some(wh.clone()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert!(
        log.iter().filter(|d| d.state == DeliveryState::Ready).all(|d| d.paused),
        "queued deliveries show as paused"
    );

    // ...but probed with one request once the probe is due, preferring a fresh delivery.
    let now = T0.plus(Millis::SECOND);
    let probe = claim(&*store, now).await;
    assert_eq!(probe.len(), 1);
    assert!(probe[0].probe);
    assert_eq!(probe[0].attempts, 0);
    assert_ne!(probe[0].event.session_id.as_ref(), Some(&failing.id));
    assert!(claim(&*store, now).await.is_empty(), "one probe at a time");

    // The probe succeeds: the backlog flows again, except the failed delivery's own retry.
    store.record_attempts(vec![record(&probe[0], now, AttemptResult::Delivered)], &policy()).await.unwrap();
    let (_, health) = store.webhook(&acme, &wh).await.unwrap().unwrap();
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Active, 0));
    let flowing = claim(&*store, now).await;
    assert_eq!(flowing.len(), 1);
    assert_ne!(flowing[0].event.session_id.as_ref(), Some(&failing.id));
    store.record_attempts(vec![record(&flowing[0], now, AttemptResult::Delivered)], &policy()).await.unwrap();
    let retried = claim(&*store, retry_at).await;
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].event.session_id.as_ref(), retried[0].attempts), (Some(&failing.id), 1));
}

pub async fn stale_claims_cannot_record(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    seed(&*store, "acme", "s1").await;
    let first = claim(&*store, T0).await.remove(0);
    // The worker stalls past its lease; another one takes the delivery over.
    let later = T0.plus(LEASE).plus(Millis::SECOND);
    let second = claim(&*store, later).await.remove(0);
    assert_eq!(second.delivery_id, first.delivery_id);
    assert_ne!(second.claim, first.claim);
    store
        .record_attempts(vec![record(&first, later, AttemptResult::RetryAt(later.plus(Millis::HOUR)))], &policy())
        .await
        .unwrap();
    let acme = company_id("acme");
    let log = store.deliveries(&acme, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((log[0].state, log[0].attempts), (DeliveryState::Ready, 0), "the stale result was ignored");
    store.record_attempts(vec![record(&second, later, AttemptResult::Delivered)], &policy()).await.unwrap();
    let log = store.deliveries(&acme, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((log[0].state, log[0].attempts), (DeliveryState::Delivered, 1));
    let (_, health) = store.webhook(&acme, &WebhookId::parse("wh").unwrap()).await.unwrap().unwrap();
    assert_eq!(health.consecutive_failures, 0);
}

pub async fn a_claim_records_once(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    seed(&*store, "acme", "s1").await;
    seed(&*store, "acme", "s2").await;
    let acme = company_id("acme");
    let held = claim(&*store, T0).await;
    assert_eq!(held.len(), 2);
    let retry = T0.plus(Millis::HOUR);
    let outcome = record(&held[0], T0, AttemptResult::RetryAt(retry));
    store.record_attempts(vec![outcome.clone()], &policy()).await.unwrap();
    // The same result again (a worker that retried its record) or another one under the
    // claim that recorded: the delivery is no longer held, so neither counts.
    store.record_attempts(vec![outcome], &policy()).await.unwrap();
    store.record_attempts(vec![record(&held[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    // Nor does a result under a claim given back unattempted.
    store.release_deliveries(&[(held[1].delivery_id, held[1].claim)]).await.unwrap();
    store.record_attempts(vec![record(&held[1], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let log = store.deliveries(&acme, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    let by_id = |id: i64| log.iter().find(|d| d.id == id).map(|d| (d.state, d.attempts)).unwrap();
    assert_eq!(by_id(held[0].delivery_id), (DeliveryState::Ready, 1), "one attempt, waiting for its retry");
    assert_eq!(by_id(held[1].delivery_id), (DeliveryState::Ready, 0), "released, never attempted");
}

pub async fn consecutive_failures_disable_and_email_and_nothing_is_dropped(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let wh = WebhookId::parse("wh").unwrap();
    seed(&*store, "acme", "s1").await;
    let mut now = T0;
    for n in 1..=25u32 {
        let claimed = claim(&*store, now).await;
        assert_eq!(claimed.len(), 1, "attempt {n}: exactly one request");
        store
            .record_attempts(
                vec![record(&claimed[0], now, AttemptResult::RetryAt(now.plus(Millis::SECOND)))],
                &policy(),
            )
            .await
            .unwrap();
        let (_, health) = store.webhook(&acme, &wh).await.unwrap().unwrap();
        assert_eq!(health.consecutive_failures, n);
        let expected = if n == 25 { WebhookState::Disabled } else { WebhookState::Unhealthy };
        assert_eq!(health.state, expected, "after failure {n}");
        now = health.probe_after.max(now.plus(Millis::SECOND));
    }
    let notifications = store.pending_notifications(100).await.unwrap();
    let counts: Vec<_> = notifications.iter().map(|n| n.consecutive_failures).collect();
    assert_eq!(counts, vec![5, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    assert!(notifications.last().unwrap().disabled);
    assert!(notifications.iter().all(|n| n.last_error.contains("HTTP 500") && n.company_id == acme));
    store.mark_notification(notifications[0].id, now, "sent").await.unwrap();
    assert_eq!(store.pending_notifications(100).await.unwrap().len(), notifications.len() - 1);

    // Disabled: nothing goes out, not even probes, but events keep queueing, visibly.
    seed(&*store, "acme", "s2").await;
    let far = now.plus(Millis::days(30));
    assert!(claim(&*store, far).await.is_empty());
    let log = store
        .deliveries(&acme, &DeliveryFilter { webhook: Some(wh.clone()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d.state == DeliveryState::Ready && d.paused));

    // Test and save: healthy again, and the whole queue is due at once.
    assert!(store.restore_webhook(&acme, &wh, far).await.unwrap());
    let (_, health) = store.webhook(&acme, &wh).await.unwrap().unwrap();
    assert_eq!((health.state, health.consecutive_failures), (WebhookState::Active, 0));
    assert_eq!(claim(&*store, far).await.len(), 2);
    assert!(!store.restore_webhook(&company_id("globex"), &wh, far).await.unwrap());
}

pub async fn given_up_deliveries_free_their_session_and_can_be_recovered(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let wh = WebhookId::parse("wh").unwrap();
    let (_, session) = seed(&*store, "acme", "s1").await;
    fire(&*store, &session, EventKind::CompanyTestSessionStarted).await;
    let first = claim(&*store, T0).await.remove(0);
    store.record_attempts(vec![record(&first, T0, AttemptResult::GiveUp)], &policy()).await.unwrap();
    assert!(store.restore_webhook(&acme, &wh, T0).await.unwrap());
    let next = claim(&*store, T0).await;
    assert_eq!(next.iter().map(|c| c.event.kind).collect::<Vec<_>>(), vec![EventKind::CompanyTestSessionStarted]);
    store.record_attempts(vec![record(&next[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();

    assert_eq!(store.recover(&acme, &wh, T0.plus(Millis::DAY), T0).await.unwrap(), 0, "nothing failed since then");
    assert_eq!(store.recover(&acme, &wh, T0, T0).await.unwrap(), 1);
    assert_eq!(store.recover(&acme, &wh, T0, T0).await.unwrap(), 0, "already queued again");
    let again = claim(&*store, T0).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].event.id, first.event.id, "same event, same webhook-id");
    assert_eq!(store.recover(&company_id("globex"), &wh, T0, T0).await.unwrap(), 0);
}

pub async fn replay_queues_the_same_event_again(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let wh = WebhookId::parse("wh").unwrap();
    seed(&*store, "acme", "s1").await;
    let first = claim(&*store, T0).await.remove(0);
    store.record_attempts(vec![record(&first, T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let replayed = store.replay(&acme, &wh, &first.event.id, T0).await.unwrap().unwrap();
    assert!(replayed.replay);
    assert_eq!((replayed.state, replayed.event_id.clone()), (DeliveryState::Ready, first.event.id.clone()));
    let again = claim(&*store, T0).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].event.id, first.event.id);
    let unknown = screenhook_domain::EventId::parse("evt_unknown").unwrap();
    assert!(store.replay(&acme, &wh, &unknown, T0).await.unwrap().is_none());
    store.insert_company(&company("globex")).await.unwrap();
    assert!(store.replay(&company_id("globex"), &wh, &first.event.id, T0).await.unwrap().is_none());
}

pub async fn deleting_a_webhook_cancels_its_queue(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let wh = WebhookId::parse("wh").unwrap();
    seed(&*store, "acme", "s1").await;
    assert!(!store.delete_webhook(&company_id("globex"), &wh).await.unwrap());
    assert!(store.delete_webhook(&acme, &wh).await.unwrap());
    assert!(!store.delete_webhook(&acme, &wh).await.unwrap());
    assert!(claim(&*store, T0).await.is_empty());
    let log = store.deliveries(&acme, &DeliveryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(log.iter().map(|d| d.state).collect::<Vec<_>>(), vec![DeliveryState::Cancelled]);
    assert!(store.webhook(&acme, &wh).await.unwrap().is_none());
}

fn gauges(stats: &QueueStats) -> Vec<(QueueBucket, u64)> {
    stats.queue.iter().map(|g| (g.bucket, g.count)).collect()
}

pub async fn queue_stats_count_unfinished_deliveries_by_bucket(store: Arc<dyn Store>) {
    assert_eq!(store.queue_stats(T0).await.unwrap(), QueueStats::default());
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_company(&company("globex")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-sick", &EventKind::ALL)).await.unwrap();
    store.insert_webhook(&webhook("globex", "wh-gone", &EventKind::ALL)).await.unwrap();
    store.delete_webhook(&company_id("globex"), &WebhookId::parse("wh-gone").unwrap()).await.unwrap();
    let (_, s1) = seed(&*store, "acme", "s1").await;
    fire(&*store, &s1, EventKind::CompanyTestSessionStarted).await;
    let now = T0.plus(Millis::SECOND);
    let stats = store.queue_stats(now).await.unwrap();
    assert_eq!(gauges(&stats), vec![(QueueBucket::Due, 2), (QueueBucket::Waiting, 2)]);
    let due = stats.queue[0];
    assert_eq!((due.oldest_created, due.earliest_due), (T0, T0), "due since the event fired");
    assert_eq!(stats.webhooks, vec![(WebhookState::Active, 2)], "deleted webhooks are not counted");

    let claimed = claim(&*store, T0).await;
    assert_eq!(
        gauges(&store.queue_stats(T0).await.unwrap()),
        vec![(QueueBucket::InFlight, 2), (QueueBucket::Waiting, 2)]
    );

    // wh delivers; wh-sick fails and turns unhealthy, which pauses its queue.
    let retry_at = T0.plus(Millis::minutes(10));
    let records = claimed
        .iter()
        .map(|c| match c.webhook_id.as_str() {
            "wh" => record(c, T0, AttemptResult::Delivered),
            _ => record(c, T0, AttemptResult::RetryAt(retry_at)),
        })
        .collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let stats = store.queue_stats(T0).await.unwrap();
    assert_eq!(gauges(&stats), vec![(QueueBucket::Due, 1), (QueueBucket::Paused, 2)]);
    assert_eq!(stats.webhooks, vec![(WebhookState::Active, 1), (WebhookState::Unhealthy, 1)]);

    // The probe (a fresh delivery) succeeds: wh-sick is active again, and the failed
    // delivery waits for its retry with its session's next event behind it.
    seed(&*store, "acme", "s3").await;
    let claimed = claim(&*store, now).await;
    assert_eq!(claimed.len(), 3, "wh's two and wh-sick's probe");
    let records = claimed.iter().map(|c| record(c, now, AttemptResult::Delivered)).collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let stats = store.queue_stats(now).await.unwrap();
    assert_eq!(gauges(&stats), vec![(QueueBucket::Scheduled, 1), (QueueBucket::Waiting, 1)]);
    assert_eq!(stats.queue[0].earliest_due, retry_at);
    assert_eq!(stats.webhooks, vec![(WebhookState::Active, 2)]);
    assert_eq!(
        gauges(&store.queue_stats(retry_at).await.unwrap()),
        vec![(QueueBucket::Due, 1), (QueueBucket::Waiting, 1)]
    );
}

pub async fn retention_purges_finished_history_only(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_company(&company("quiet")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let acme = company_id("acme");
    let (_, s1) = seed(&*store, "acme", "s1").await;
    let (_, s2) = seed(&*store, "acme", "s2").await;
    fire(&*store, &s1, EventKind::CompanyTestSessionStarted).await;
    // A company without webhooks: its events have no deliveries at all.
    let (_, quiet) = seed(&*store, "quiet", "q1").await;

    // s1's first event is delivered, s2's fails for good; s1's second one stays queued.
    let claimed = claim(&*store, T0).await;
    let records = claimed
        .iter()
        .map(|c| match c.event.session_id.as_ref() == Some(&s1.id) {
            true => record(c, T0, AttemptResult::Delivered),
            false => record(c, T0, AttemptResult::GiveUp),
        })
        .collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let all = DeliveryFilter { limit: 10, ..Default::default() };
    assert_eq!(store.deliveries(&acme, &all).await.unwrap().len(), 3);

    // Nothing finished before T0: nothing goes.
    assert_eq!(store.purge_history(T0, 100).await.unwrap(), Purged::default());

    let later = T0.plus(Millis::SECOND);
    let first = store.purge_history(later, 1).await.unwrap();
    assert_eq!((first.deliveries, first.attempts), (1, 1), "at most `limit` deliveries per call");
    assert!(first.more_than(1));
    let rest = store.purge_history(later, 100).await.unwrap();
    assert_eq!((rest.deliveries, rest.attempts), (1, 1));
    assert_eq!(first.events + rest.events, 3, "s1's and s2's created events and quiet's one");
    assert!(!rest.more_than(100));
    assert_eq!(store.purge_history(later, 100).await.unwrap(), Purged::default(), "nothing left to purge");

    // The queued delivery and its event are untouched, and still delivered in order.
    let left = store.deliveries(&acme, &all).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].state, left[0].session_id.as_ref()), (DeliveryState::Ready, Some(&s1.id)));
    let kinds: Vec<_> = store.events_of_session(&acme, &s1.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::CompanyTestSessionStarted]);
    assert!(store.events_of_session(&acme, &s2.id).await.unwrap().is_empty());
    assert!(store.events_of_session(&company_id("quiet"), &quiet.id).await.unwrap().is_empty());
    let next = claim(&*store, later).await;
    assert_eq!(next.iter().map(|c| c.event.kind).collect::<Vec<_>>(), vec![EventKind::CompanyTestSessionStarted]);
    // The sessions themselves are not history: they stay.
    assert!(store.session(&acme, &s2.id).await.unwrap().is_some());
}

pub async fn delivery_log_is_scoped_to_the_company(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_company(&company("globex")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    let (_, session) = seed(&*store, "acme", "s1").await;
    let claimed = claim(&*store, T0).await.remove(0);
    store.record_attempts(vec![record(&claimed, T0, AttemptResult::Delivered)], &policy()).await.unwrap();
    let acme = company_id("acme");
    let globex = company_id("globex");
    let everything = DeliveryFilter { limit: 10, ..Default::default() };
    let mine = store.deliveries(&acme, &everything).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert!(store.deliveries(&globex, &everything).await.unwrap().is_empty());
    assert!(store.attempts(&globex, mine[0].id).await.unwrap().is_empty());
    let by_session = DeliveryFilter { session: Some(session.id.clone()), limit: 10, ..Default::default() };
    assert_eq!(store.deliveries(&acme, &by_session).await.unwrap().len(), 1);
    assert!(store.deliveries(&globex, &by_session).await.unwrap().is_empty());
    let by_event = DeliveryFilter { event: Some(claimed.event.id.clone()), limit: 10, ..Default::default() };
    assert_eq!(store.deliveries(&acme, &by_event).await.unwrap().len(), 1);
}

// The delivery log's chart.

/// Where the chart cases' window starts: an hour after the fixtures' time, so that what
/// `seed` creates at [`T0`] lies before it.
const SINCE: Timestamp = T0.plus(Millis::HOUR);

fn since_plus(ms: i64) -> Timestamp {
    SINCE.plus(Millis::from_millis(ms))
}

/// Creates one session of acme's test per `(id, created at)`, each with its creation event
/// fired then (so its deliveries are created then).
async fn sessions_created_at(store: &dyn Store, test: &CompanyTest, sessions: &[(&str, Timestamp)]) {
    for (id, at) in sessions {
        let session = CompanyTestSession { create_date: *at, ..session_of(test, id, &format!("{id}@example.com")) };
        create(store, &session).await;
    }
}

/// An attempt of `claimed` made at `at` taking `latency_ms`.
fn attempt(claimed: &ClaimedDelivery, at: Timestamp, latency_ms: u32, result: AttemptResult) -> AttemptRecord {
    AttemptRecord { latency_ms, ..record(claimed, at, result) }
}

/// Acme with webhooks `wh` and `wh-other` (both subscribed to everything) and deliveries to
/// `wh` in the one-minute buckets of `SINCE..SINCE + 5m`:
///
/// - s0, created at T0 (before the window), delivered at `SINCE - 1ms` (before it too);
/// - bucket 0: a01..a20 delivered at `SINCE + 30s` with latencies 100, 95, …, 5; f1 created at
///   `+40s`, given up at `+1m 1s` (bucket 1) after 40 ms; p1 created at `+50s`, never sent;
/// - bucket 2: r1 created at `+2m 30s`, failed at `+2m 40s` after 300 ms, to be retried
///   (pending, and paused: the failure made `wh` unhealthy);
/// - bucket 3: nothing;
/// - bucket 4: c1 created and delivered at `+5m - 1ms` after 8 ms; late1 created and
///   delivered at `+5m` (the window's end, so outside it) after 7777 ms.
///
/// Every delivery to `wh-other` is delivered at `+30s` after 1000 ms.
async fn seed_chart(store: &dyn Store) -> (CompanyId, WebhookId) {
    store.insert_company(&company("acme")).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
    store.insert_webhook(&webhook("acme", "wh-other", &EventKind::ALL)).await.unwrap();
    let (test, _) = seed(store, "acme", "s0").await;
    let mut created: Vec<(String, Timestamp)> =
        (1..=20).map(|n| (format!("a{n:02}"), since_plus(1_000 * (n - 1)))).collect();
    created.extend([
        ("f1".to_string(), since_plus(40_000)),
        ("p1".to_string(), since_plus(50_000)),
        ("r1".to_string(), since_plus(150_000)),
        ("c1".to_string(), since_plus(300_000 - 1)),
        ("late1".to_string(), since_plus(300_000)),
    ]);
    let created: Vec<(&str, Timestamp)> = created.iter().map(|(id, at)| (id.as_str(), *at)).collect();
    sessions_created_at(store, &test, &created).await;

    let claimed = store.claim_deliveries(since_plus(0), LEASE, 1000, &[]).await.unwrap();
    assert_eq!(claimed.len(), 2 * (1 + created.len()), "every delivery to both webhooks");
    let wh = WebhookId::parse("wh").unwrap();
    let session_of_claim = |c: &ClaimedDelivery| c.event.session_id.clone().unwrap().to_string();
    let mut delivered = Vec::new();
    let (mut retried, mut given_up) = (None, None);
    for c in &claimed {
        if c.webhook_id != wh {
            delivered.push(attempt(c, since_plus(30_000), 1000, AttemptResult::Delivered));
            continue;
        }
        let session = session_of_claim(c);
        match session.as_str() {
            "s0" => delivered.push(attempt(c, since_plus(-1), 5555, AttemptResult::Delivered)),
            "f1" => given_up = Some(attempt(c, since_plus(61_000), 40, AttemptResult::GiveUp)),
            "p1" => {}
            "r1" => {
                let retry = AttemptResult::RetryAt(since_plus(3_600_000));
                retried = Some(attempt(c, since_plus(160_000), 300, retry));
            }
            "c1" => delivered.push(attempt(c, since_plus(300_000 - 1), 8, AttemptResult::Delivered)),
            "late1" => delivered.push(attempt(c, since_plus(300_000), 7777, AttemptResult::Delivered)),
            a => {
                let n: u32 = a.trim_start_matches('a').parse().unwrap();
                delivered.push(attempt(c, since_plus(30_000), 5 * (21 - n), AttemptResult::Delivered));
            }
        }
    }
    store.record_attempts(delivered, &policy()).await.unwrap();
    store.record_attempts(vec![retried.unwrap()], &policy()).await.unwrap();
    store.record_attempts(vec![given_up.unwrap()], &policy()).await.unwrap();
    (company_id("acme"), wh)
}

fn bucket_at(
    start: Timestamp,
    (delivered, failed, pending): (u32, u32, u32),
    latency: [Option<u32>; 3],
) -> DeliveryBucket {
    DeliveryBucket {
        start,
        delivered,
        failed,
        pending,
        latency_p50_ms: latency[0],
        latency_p95_ms: latency[1],
        latency_p99_ms: latency[2],
    }
}

pub async fn delivery_series_counts_deliveries_by_creation_and_state(store: Arc<dyn Store>) {
    let (acme, wh) = seed_chart(&*store).await;
    let log = store
        .deliveries(&acme, &DeliveryFilter { webhook: Some(wh.clone()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    assert!(log.iter().any(|d| d.state == DeliveryState::Ready && d.paused), "the retried one waits, paused");
    let series = store.delivery_series(&acme, &wh, SINCE, since_plus(300_000), Millis::MINUTE).await.unwrap();
    let counts: Vec<_> = series.iter().map(|b| (b.start, b.delivered, b.failed, b.pending)).collect();
    assert_eq!(
        counts,
        vec![
            (SINCE, 20, 1, 1),
            (since_plus(60_000), 0, 0, 0),
            (since_plus(120_000), 0, 0, 1),
            (since_plus(180_000), 0, 0, 0),
            (since_plus(240_000), 1, 0, 0),
        ],
        "by creation time, cut at the window's end"
    );
    // A window that is not a whole number of buckets ends with a shorter one, cut at `until`:
    // r1, created at the very end, is outside it, and so is its attempt.
    let short = store.delivery_series(&acme, &wh, SINCE, since_plus(150_000), Millis::MINUTE).await.unwrap();
    assert_eq!(short.len(), 3);
    assert_eq!(short[2], bucket_at(since_plus(120_000), (0, 0, 0), [None; 3]));
    // Buckets start at `since`, wherever that is.
    let shifted =
        store.delivery_series(&acme, &wh, since_plus(10_000), since_plus(70_000), Millis::MINUTE).await.unwrap();
    assert_eq!(shifted.len(), 1);
    let counts = (shifted[0].start, shifted[0].delivered, shifted[0].failed, shifted[0].pending);
    assert_eq!(counts, (since_plus(10_000), 10, 1, 1), "a11..a20, f1 and p1");
    // A deleted webhook keeps its history, except what its deletion cancelled.
    store.delete_webhook(&acme, &wh).await.unwrap();
    let after = store.delivery_series(&acme, &wh, SINCE, since_plus(300_000), Millis::MINUTE).await.unwrap();
    let counts: Vec<_> = after.iter().map(|b| (b.delivered, b.failed, b.pending)).collect();
    assert_eq!(counts, vec![(20, 1, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (1, 0, 0)], "cancelled counts nowhere");
    assert_eq!(after[0].latency_p50_ms, Some(50));
}

pub async fn delivery_series_latency_percentiles_are_nearest_rank_by_attempt_time(store: Arc<dyn Store>) {
    let (acme, wh) = seed_chart(&*store).await;
    let series = store.delivery_series(&acme, &wh, SINCE, since_plus(300_000), Millis::MINUTE).await.unwrap();
    assert_eq!(
        series,
        vec![
            // 5, 10, …, 100: nearest rank gives 50, 95 and 100 (interpolation would not).
            bucket_at(SINCE, (20, 1, 1), [Some(50), Some(95), Some(100)]),
            // f1 was created in bucket 0 but attempted in bucket 1.
            bucket_at(since_plus(60_000), (0, 0, 0), [Some(40); 3]),
            bucket_at(since_plus(120_000), (0, 0, 1), [Some(300); 3]),
            bucket_at(since_plus(180_000), (0, 0, 0), [None; 3]),
            // late1's attempt, at the window's end, is not in it.
            bucket_at(since_plus(240_000), (1, 0, 0), [Some(8); 3]),
        ]
    );
    // One bucket over the whole window: 23 attempts (5..100, 40, 300, 8).
    let whole = store.delivery_series(&acme, &wh, SINCE, since_plus(300_000), Millis::minutes(5)).await.unwrap();
    assert_eq!(whole, vec![bucket_at(SINCE, (21, 1, 2), [Some(50), Some(100), Some(300)])]);
    // The other webhook's attempts are its own.
    let other = WebhookId::parse("wh-other").unwrap();
    let theirs = store.delivery_series(&acme, &other, SINCE, since_plus(60_000), Millis::MINUTE).await.unwrap();
    assert_eq!(theirs, vec![bucket_at(SINCE, (22, 0, 0), [Some(1000); 3])]);
}

pub async fn delivery_series_is_scoped_to_the_company_and_webhook(store: Arc<dyn Store>) {
    let (acme, wh) = seed_chart(&*store).await;
    // Globex has a webhook with a delivery in the window too.
    store.insert_company(&company("globex")).await.unwrap();
    store.insert_webhook(&webhook("globex", "wh-globex", &EventKind::ALL)).await.unwrap();
    let (globex_test, _) = seed(&*store, "globex", "g0").await;
    sessions_created_at(&*store, &globex_test, &[("g1", since_plus(1_000))]).await;
    let theirs = store.claim_deliveries(since_plus(1_000), LEASE, 100, &[]).await.unwrap();
    assert_eq!(theirs.len(), 2, "g0 and g1, to wh-globex");
    let records = theirs.iter().map(|c| attempt(c, since_plus(2_000), 12, AttemptResult::Delivered)).collect();
    store.record_attempts(records, &policy()).await.unwrap();
    let empty: Vec<_> = (0..5).map(|n| bucket_at(since_plus(60_000 * n), (0, 0, 0), [None; 3])).collect();
    let window = |company: CompanyId, webhook: &str| {
        let store = store.clone();
        let webhook = WebhookId::parse(webhook).unwrap();
        async move { store.delivery_series(&company, &webhook, SINCE, since_plus(300_000), Millis::MINUTE).await.unwrap() }
    };
    assert_eq!(window(company_id("globex"), "wh").await, empty, "another company's webhook reads as empty");
    assert_eq!(window(acme.clone(), "wh-globex").await, empty, "and so does acme's view of globex's");
    let globex = window(company_id("globex"), "wh-globex").await;
    assert_eq!(globex[0], bucket_at(SINCE, (1, 0, 0), [Some(12); 3]), "g1 only: g0 lies before the window");
    assert_eq!(window(acme.clone(), "wh-unknown").await, empty);
    assert_eq!(window(company_id("nobody"), "wh").await, empty);
    assert_ne!(window(acme, wh.as_str()).await, empty);
}

pub async fn delivery_series_windows_are_bounded(store: Arc<dyn Store>) {
    let (acme, wh) = seed_chart(&*store).await;
    let series = |until: Timestamp, bucket: Millis| {
        let (store, acme, wh) = (store.clone(), acme.clone(), wh.clone());
        async move { store.delivery_series(&acme, &wh, SINCE, until, bucket).await }
    };
    let most = MAX_SERIES_BUCKETS as i64;
    let longest = series(SINCE.plus(Millis::minutes(most)), Millis::MINUTE).await.unwrap();
    assert_eq!(longest.len(), MAX_SERIES_BUCKETS);
    assert_eq!(longest[0].delivered, 20);
    assert_eq!(longest.last().unwrap().start, SINCE.plus(Millis::minutes(most - 1)));
    assert!(series(SINCE, Millis::MINUTE).await.unwrap().is_empty(), "an empty window has no buckets");
    for (until, bucket) in [
        (SINCE.plus(Millis::minutes(most)).plus(Millis::from_millis(1)), Millis::MINUTE),
        (SINCE.plus(Millis::minutes(1)), Millis::from_millis(0)),
        (SINCE.plus(Millis::from_millis(-1)), Millis::MINUTE),
    ] {
        let err = series(until, bucket).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidChange(_)), "{err:?}");
    }
}

pub async fn certify_imports_write_each_record_whole_once_and_fire_nothing(store: Arc<dyn Store>) {
    store.insert_company(&company("acme")).await.unwrap();
    let (_, existing) = seed(&*store, "acme", "taken").await;
    let every_event = webhook("acme", "wh-all", &EventKind::ALL);
    store.insert_webhook(&every_event).await.unwrap();
    let outbox_before = store.events_after(0, 100).await.unwrap().len();

    let old_test = StandardizedTestId::parse("gca").unwrap();
    let test = test_of("acme", "migrated");
    let request = CertificationRequestId::parse("req-1").unwrap();
    let rejected = CompanyTestSession {
        status: SessionStatus::Over,
        verification_status: Some(VerificationStatus::NotVerified),
        retake_session: Some(SessionId::parse("chain-2").unwrap()),
        certify_request_id: Some(request.clone()),
        ..session_of(&test, "chain-1", "jane@example.com")
    };
    let retake = CompanyTestSession {
        retake_of: Some(rejected.id.clone()),
        certify_request_id: Some(request.clone()),
        integrations: Integrations { greenhouse_candidate_id: Some("gh-7".into()), ..Integrations::default() },
        ..session_of(&test, "chain-2", "jane@example.com")
    };
    let records = vec![
        CertifyRecord::Test { old_id: old_test.clone(), test: Box::new(test.clone()) },
        CertifyRecord::Request { old_id: request.clone(), sessions: vec![rejected.clone(), retake.clone()] },
        // Its second session's id is taken: the whole record is refused, its first session too.
        CertifyRecord::Request {
            old_id: CertificationRequestId::parse("req-2").unwrap(),
            sessions: vec![
                session_of(&test, "half", "joe@example.com"),
                session_of(&test, existing.id.as_str(), "x@example.com"),
            ],
        },
        // Sessions of two companies in one record are malformed.
        CertifyRecord::Request {
            old_id: CertificationRequestId::parse("req-3").unwrap(),
            sessions: vec![
                session_of(&test, "mixed-1", "a@example.com"),
                session_of(&test_of("globex", "g"), "mixed-2", "b@example.com"),
            ],
        },
    ];
    let outcomes = store.import_certify(records.clone()).await.unwrap();
    assert_eq!(outcomes[0].as_ref().unwrap(), &CertifyImported::Written);
    assert_eq!(outcomes[1].as_ref().unwrap(), &CertifyImported::Written);
    assert!(matches!(outcomes[2], Err(StoreError::Conflict { .. })), "{:?}", outcomes[2]);
    assert!(matches!(outcomes[3], Err(StoreError::InvalidChange(_))), "{:?}", outcomes[3]);

    let acme = company_id("acme");
    assert_eq!(store.test(&acme, &test.id).await.unwrap(), Some(test.clone()));
    assert_eq!(store.session(&acme, &rejected.id).await.unwrap(), Some(rejected.clone()));
    assert_eq!(store.session(&acme, &retake.id).await.unwrap(), Some(retake.clone()));
    assert_eq!(store.session(&acme, &SessionId::parse("half").unwrap()).await.unwrap(), None);
    assert_eq!(store.session(&acme, &SessionId::parse("mixed-1").unwrap()).await.unwrap(), None);
    assert_eq!(store.certify_test(&acme, &old_test).await.unwrap(), Some(test.id.clone()));
    assert_eq!(store.certify_request(&acme, &request).await.unwrap(), Some(rejected.id.clone()), "the invitation");
    assert_eq!(store.certify_request(&acme, &CertificationRequestId::parse("req-2").unwrap()).await.unwrap(), None);
    // Lookups are scoped to the company.
    assert_eq!(store.certify_request(&company_id("globex"), &request).await.unwrap(), None);
    assert_eq!(store.certify_test(&company_id("globex"), &old_test).await.unwrap(), None);
    // Imported sessions answer the usual reads, with their timers.
    let by_ats = store.sessions_by_ats_id(&acme, AtsIdType::GreenhouseCandidateId, "gh-7").await.unwrap();
    assert_eq!(by_ats, vec![retake.clone()]);
    let due = store.due_timers(retake.expiration_date, 10).await.unwrap();
    assert!(due.iter().any(|t| t.session_id == retake.id && t.kind == DeadlineKind::Expiry), "{due:?}");
    assert!(!due.iter().any(|t| t.session_id == rejected.id), "a rejection with a retake has no timer");

    // Nothing reached the outbox, so nothing is delivered.
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), outbox_before);
    assert!(store.events_of_session(&acme, &retake.id).await.unwrap().is_empty());
    assert!(claim(&*store, T0.plus(Millis::days(400))).await.is_empty());

    // A second import writes nothing and says what each old id became.
    let again = store.import_certify(records[..2].to_vec()).await.unwrap();
    assert_eq!(again[0].as_ref().unwrap(), &CertifyImported::TestExisted(test.id.clone()));
    assert_eq!(again[1].as_ref().unwrap(), &CertifyImported::RequestExisted(rejected.id.clone()));
    // Even when the line now says something else: the first import stands.
    let changed = CertifyRecord::Request {
        old_id: request.clone(),
        sessions: vec![session_of(&test, "other", "jane@example.com")],
    };
    let outcome = store.import_certify(vec![changed]).await.unwrap();
    assert_eq!(outcome[0].as_ref().unwrap(), &CertifyImported::RequestExisted(rejected.id.clone()));
    assert_eq!(store.session(&acme, &SessionId::parse("other").unwrap()).await.unwrap(), None);
    assert_eq!(store.sessions_of_test(&acme, &test.id, Page { first: 10, offset: 0 }).await.unwrap().len(), 2);
}
