//! Each path of the lifecycle table, driven through the engine and committed to SQLite,
//! fires exactly the events the table lists, in order, into the outbox.

use std::sync::Arc;

use screenhook_domain::{
    EventKind, Millis, RejectionReason, SessionId,
    lifecycle::{Act, PATHS, Target},
};
use screenhook_engine::{ManualClock, SessionAction};

use crate::{INTEGRITY_DELAY, T0, open};

fn reason() -> RejectionReason {
    RejectionReason { name: "Presence of others".into(), description: "Another person was visible".into() }
}

#[tokio::test]
async fn every_lifecycle_path_fires_its_events_in_order() {
    for path in PATHS {
        let dir = tempfile::tempdir().unwrap();
        let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
        let email = "jane@example.com";
        if path.steps.iter().any(|(_, act)| *act == Act::Share) {
            // A re-share needs an earlier verified result of the same framework.
            let earlier = h.test(true, true).await;
            let session = h.engine.invite(&h.company, h.invitation(&earlier, email)).await.unwrap().session;
            for action in [
                SessionAction::Start,
                SessionAction::Submit { score: 1100, max_score: None, area_points: vec![], integrity_suggested: false },
                SessionAction::Verify,
            ] {
                h.engine.session_command(&h.company, &session.id, action).await.unwrap();
            }
            h.clock.advance(Millis::DAY);
        }
        let test = h.test(path.proctored, path.certified).await;
        let mut original: Option<SessionId> = None;
        let mut spawned: Option<SessionId> = None;
        for (target, act) in path.steps {
            let target = match target {
                Target::Original => original.clone(),
                Target::Spawned => spawned.clone(),
            };
            let action = match act {
                Act::Invite => {
                    original = Some(h.engine.invite(&h.company, h.invitation(&test, email)).await.unwrap().session.id);
                    continue;
                }
                Act::Expire => {
                    h.clock.advance(Millis::days(15));
                    assert_eq!(h.engine.fire_due_timers().await.unwrap(), 1, "{}: one expiry", path.name);
                    continue;
                }
                Act::IntegrityReview => {
                    h.clock.advance(INTEGRITY_DELAY);
                    assert_eq!(h.engine.fire_due_timers().await.unwrap(), 1, "{}: one review", path.name);
                    continue;
                }
                Act::Start => SessionAction::Start,
                Act::Submit => SessionAction::Submit {
                    score: 900,
                    max_score: None,
                    area_points: vec![],
                    integrity_suggested: true,
                },
                Act::Verify => SessionAction::Verify,
                Act::Reject => SessionAction::NotVerify { reasons: vec![reason()], technical_issue: false },
                Act::RejectTechnical => SessionAction::NotVerify { reasons: vec![], technical_issue: true },
                Act::Share => SessionAction::ShareResult { source: None },
                Act::Decline => SessionAction::Decline,
            };
            let id = target.unwrap_or_else(|| panic!("{}: no session to act on", path.name));
            let outcome = h.engine.session_command(&h.company, &id, action).await.unwrap();
            if let Some(created) = outcome.created {
                spawned = Some(created.id);
            }
        }
        let original = original.unwrap();
        let mut fired: Vec<EventKind> = Vec::new();
        let mut sessions = vec![original.clone()];
        sessions.extend(spawned);
        let mut events = Vec::new();
        for id in &sessions {
            events.extend(h.engine.store.events_of_session(&h.company, id).await.unwrap());
        }
        events.sort_by_key(|e| e.seq);
        fired.extend(events.iter().map(|e| e.kind).filter(|k| !k.is_legacy_certify()));
        assert_eq!(fired, path.events, "path {:?}", path.name);
        // Every payload is the one the domain built, and carries the session it is about.
        for event in events.iter().filter(|e| !e.kind.is_legacy_certify()) {
            assert_eq!(event.payload["testSessionId"].as_str(), event.session_id.as_ref().map(|s| s.as_str()));
        }
    }
}

#[tokio::test]
async fn certified_evaluations_also_fire_the_legacy_certify_events() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
    let test = h.test(true, true).await;
    let session = h.engine.invite(&h.company, h.invitation(&test, "jane@example.com")).await.unwrap().session;
    for action in [
        SessionAction::Start,
        SessionAction::Submit { score: 1000, max_score: None, area_points: vec![], integrity_suggested: false },
        SessionAction::Verify,
    ] {
        h.engine.session_command(&h.company, &session.id, action).await.unwrap();
    }
    let kinds: Vec<_> =
        h.engine.store.events_of_session(&h.company, &session.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::CompanyTestSessionCreated,
            EventKind::CompanyTestSessionStarted,
            EventKind::PreScreenResultVerificationPending,
            EventKind::CertificationResultPending,
            EventKind::PreScreenResultVerified,
            EventKind::CertificationResultShared,
        ]
    );
    // Custom Pre-Screens have no Certify counterpart.
    let custom = h.test(false, false).await;
    let session = h.engine.invite(&h.company, h.invitation(&custom, "joe@example.com")).await.unwrap().session;
    h.engine.session_command(&h.company, &session.id, SessionAction::Decline).await.unwrap();
    let kinds: Vec<_> =
        h.engine.store.events_of_session(&h.company, &session.id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![EventKind::CompanyTestSessionCreated, EventKind::PreScreenCandidateDeclined]);
}

#[tokio::test]
async fn prefer_existing_returns_the_pending_invitation_without_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
    let test = h.test(false, false).await;
    let first = h.engine.invite(&h.company, h.invitation(&test, "jane@example.com")).await.unwrap();
    let mut again = h.invitation(&test, "JANE@example.com");
    again.prefer_existing = true;
    let second = h.engine.invite(&h.company, again).await.unwrap();
    assert_eq!(second.session.id, first.session.id);
    assert!(second.applied.events.is_empty());
    let without = h.engine.invite(&h.company, h.invitation(&test, "jane@example.com")).await.unwrap();
    assert_ne!(without.session.id, first.session.id);
}

#[tokio::test]
async fn an_illegal_command_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
    let test = h.test(false, false).await;
    let session = h.engine.invite(&h.company, h.invitation(&test, "jane@example.com")).await.unwrap().session;
    let before = h.engine.store.events_after(0, 1000).await.unwrap();
    let err = h.engine.session_command(&h.company, &session.id, SessionAction::Verify).await.unwrap_err();
    assert!(matches!(err, screenhook_engine::EngineError::Refused(_)), "{err:?}");
    assert_eq!(h.engine.store.events_after(0, 1000).await.unwrap(), before);
    assert_eq!(h.engine.store.session(&h.company, &session.id).await.unwrap().unwrap(), session);
}

/// A candidate link opens its own session and nothing else: the whole token must match, and a
/// token without an id (or with a malformed one) is not looked up.
#[tokio::test]
async fn a_candidate_link_opens_only_its_own_session() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await;
    let test = h.test(false, false).await;
    let jane = h.engine.invite(&h.company, h.invitation(&test, "jane@example.com")).await.unwrap().session;
    let john = h.engine.invite(&h.company, h.invitation(&test, "john@example.com")).await.unwrap().session;
    let found = h.engine.session_by_candidate_token(&jane.candidate_token).await.unwrap();
    assert_eq!(found.map(|s| s.id), Some(jane.id.clone()));

    let (_, johns_secret) = john.candidate_token.split_once('.').unwrap();
    let mut last_char_changed = jane.candidate_token.clone();
    let last = last_char_changed.pop().unwrap();
    last_char_changed.push(if last == 'a' { 'b' } else { 'a' });
    for wrong in [
        format!("{}.{johns_secret}", jane.id),
        last_char_changed,
        format!("{}x", jane.candidate_token),
        jane.id.to_string(),
        format!("{}.", jane.id),
        "not an id.secret".to_owned(),
        String::new(),
    ] {
        assert_eq!(h.engine.session_by_candidate_token(&wrong).await.unwrap(), None, "{wrong:?}");
    }
}
