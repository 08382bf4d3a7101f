//! The conformance suite: the behaviour every [`Store`] must have, written once.
//!
//! A store crate instantiates it with [`conformance_tests!`], giving a function that returns a
//! fresh, empty store (and whatever guard keeps it alive). Each case becomes its own test.

use std::sync::Arc;

use screenhook_domain::{
    ApiKey, Candidate, Permission, Change, Company, CompanyId, CompanyTest, CompanyTestSession, DeadlineKind, DomainEvent, EventKind,
    Expected, FrameworkId, IntegrityReview, Integrations, Millis, SessionId, SessionStatus, TestId, TestStatus,
    Timestamp,
};
use serde_json::json;

use crate::{AtsIdType, Page, Store, StoreError};

/// Instantiates every conformance case as a `#[tokio::test]` against stores made by `$make`,
/// an async function returning `(Arc<dyn Store>, guard)`.
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
            timers_follow_session_state,
            outbox_sequence_follows_commit_order,
            concurrent_changes_to_different_sessions_all_commit,
            concurrent_changes_to_one_session_commit_once,
            reads_are_scoped_to_the_company,
            session_queries,
            sessions_by_ats_id_and_candidate_token,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make().await;
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn company_id(name: &str) -> CompanyId {
    CompanyId::parse(name).unwrap()
}

fn company(name: &str) -> Company {
    Company { id: company_id(name), name: name.to_uppercase(), sandbox: false, clock_offset: Millis::from_millis(0), created_at: T0 }
}

fn test_of(company: &str, id: &str) -> CompanyTest {
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

fn session_of(test: &CompanyTest, id: &str, email: &str) -> CompanyTestSession {
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
        candidate_token: format!("token-{id}"),
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
async fn seed(store: &dyn Store, company_name: &str, session_id: &str) -> (CompanyTest, CompanyTestSession) {
    if store.company(&company_id(company_name)).await.unwrap().is_none() {
        store.insert_company(&company(company_name)).await.unwrap();
    }
    let test = test_of(company_name, &format!("{company_name}-test"));
    if store.test(&test.company_id, &test.id).await.unwrap().is_none() {
        store
            .apply(Change { tests: vec![(test.clone(), Expected::New)], ..Change::default() })
            .await
            .unwrap();
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
    let kinds: Vec<_> = store
        .events_of_session(&session.company_id, &session.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
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
    let err = store
        .apply(Change { tests: vec![(test, Expected::New)], ..Change::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

pub async fn versions_must_advance_by_one(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let mut skipped = started(&session, T0);
    skipped.version = 3;
    let err = store
        .apply(Change { sessions: vec![(skipped, Expected::Version(1))], ..Change::default() })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidChange(_)), "{err:?}");
    assert_eq!(store.session(&session.company_id, &session.id).await.unwrap(), Some(session));
}

pub async fn timers_follow_session_state(store: Arc<dyn Store>) {
    let (_, session) = seed(&*store, "acme", "s1").await;
    let expiry = session.expiration_date;
    assert_eq!(store.next_timer_due().await.unwrap(), Some(expiry));
    assert!(store.due_timers(expiry.plus(Millis::from_millis(-1)), 10).await.unwrap().is_empty());
    let due = store.due_timers(expiry, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].kind, due[0].due, due[0].session_id.clone()), (DeadlineKind::Expiry, expiry, session.id.clone()));
    assert_eq!(due[0].company_id, session.company_id);

    // Starting replaces the expiry with the time limit.
    let at = T0.plus(Millis::HOUR);
    let active = started(&session, at);
    store.apply(Change { sessions: vec![(active.clone(), Expected::Version(1))], ..Change::default() }).await.unwrap();
    let due = store.due_timers(T0.plus(Millis::days(365)), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].kind, due[0].due), (DeadlineKind::TimeLimit, at.plus(session.duration)));

    // A finished custom session whose integrity review is done needs no timer.
    let over = CompanyTestSession {
        version: 3,
        status: SessionStatus::Declined,
        ..active
    };
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
    let err = store
        .apply(Change { sessions: vec![(hijack, Expected::Version(1))], ..Change::default() })
        .await
        .unwrap_err();
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

pub async fn sessions_by_ats_id_and_candidate_token(store: Arc<dyn Store>) {
    let (test, _) = seed(&*store, "acme", "s1").await;
    let mut linked = session_of(&test, "s2", "s2@example.com");
    linked.integrations.greenhouse_application_id = Some("app-7".into());
    linked.integrations.greenhouse_candidate_id = Some("cand-9".into());
    store.apply(Change { sessions: vec![(linked.clone(), Expected::New)], ..Change::default() }).await.unwrap();
    let by_app = store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseApplicationId, "app-7").await.unwrap();
    assert_eq!(by_app.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec!["s2"]);
    let by_candidate = store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseCandidateId, "cand-9").await.unwrap();
    assert_eq!(by_candidate.len(), 1);
    assert!(store.sessions_by_ats_id(&test.company_id, AtsIdType::GreenhouseCandidateId, "app-7").await.unwrap().is_empty());
    store.insert_company(&company("globex")).await.unwrap();
    assert!(store.sessions_by_ats_id(&company_id("globex"), AtsIdType::GreenhouseApplicationId, "app-7").await.unwrap().is_empty());
    assert_eq!(store.session_by_candidate_token("token-s2").await.unwrap().map(|s| s.id), Some(linked.id));
    assert_eq!(store.session_by_candidate_token("token-nope").await.unwrap(), None);
}
