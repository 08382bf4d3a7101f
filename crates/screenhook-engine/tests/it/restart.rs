//! Timers are rows: an expiry or a time limit that falls due while the server is down fires
//! after it comes back, on a re-opened database.

use std::sync::Arc;

use screenhook_domain::{EventKind, Millis, SessionStatus};
use screenhook_engine::{ManualClock, SessionAction};

use crate::{T0, open};

#[tokio::test]
async fn expiry_and_time_limit_fire_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screenhook.db");
    let clock = Arc::new(ManualClock::new(T0));
    let (never_started, running) = {
        let h = open(&path, clock.clone()).await;
        let test = h.test(true, true).await;
        let idle = h.engine.invite(&h.company, h.invitation(&test, "idle@example.com")).await.unwrap().session;
        let busy = h.engine.invite(&h.company, h.invitation(&test, "busy@example.com")).await.unwrap().session;
        h.engine.session_command(&h.company, &busy.id, SessionAction::Start).await.unwrap();
        assert_eq!(h.engine.fire_due_timers().await.unwrap(), 0, "nothing is due yet");
        (idle.id, busy.id)
    };

    // The server is down while both deadlines pass.
    clock.advance(Millis::days(15));
    let h = open(&path, clock.clone()).await;
    assert_eq!(h.engine.fire_due_timers().await.unwrap(), 2);
    assert_eq!(h.engine.fire_due_timers().await.unwrap(), 0, "each timer fires once");

    let idle = h.engine.store.session(&h.company, &never_started).await.unwrap().unwrap();
    assert_eq!(idle.status, SessionStatus::Expired);
    let expired = h.engine.store.events_of_session(&h.company, &never_started).await.unwrap();
    let last = expired.iter().rfind(|e| !e.kind.is_legacy_certify()).unwrap();
    assert_eq!(last.kind, EventKind::PreScreenExpired);
    assert_eq!(last.payload["expiredReason"], "testNotTaken");

    let busy = h.engine.store.session(&h.company, &running).await.unwrap().unwrap();
    assert_eq!(busy.status, SessionStatus::Over, "the time limit finished it");
    let kinds: Vec<_> = h
        .engine
        .store
        .events_of_session(&h.company, &running)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| !k.is_legacy_certify())
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::CompanyTestSessionCreated,
            EventKind::CompanyTestSessionStarted,
            EventKind::PreScreenResultVerificationPending
        ]
    );
}

#[tokio::test]
async fn sandbox_clock_offsets_bring_deadlines_forward() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let h = open(&dir.path().join("screenhook.db"), clock.clone()).await;
    let test = h.test(false, false).await;
    let session = h.engine.invite(&h.company, h.invitation(&test, "idle@example.com")).await.unwrap().session;
    // Real time does not move; the sandbox company's clock jumps 15 days ahead.
    let mut company = h.engine.store.company(&h.company).await.unwrap().unwrap();
    company.clock_offset = Millis::days(15);
    h.engine.store.update_company(&company).await.unwrap();
    assert_eq!(h.engine.fire_due_timers().await.unwrap(), 1);
    let expired = h.engine.store.session(&h.company, &session.id).await.unwrap().unwrap();
    assert_eq!(expired.status, SessionStatus::Expired);
}
