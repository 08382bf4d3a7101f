//! Per-session order holds through failures, and other sessions keep flowing.

use axum::http::StatusCode;
use screenhook_domain::{EventKind, WebhookId};
use screenhook_engine::SessionAction;
use screenhook_testkit::TestReceiver;

use crate::{app, body};

#[tokio::test]
async fn a_session_events_arrive_in_firing_order_through_failures() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    app.webhook("wh", &receiver.url("/"), &EventKind::ALL).await;
    let session = app.invite("jane@example.com").await;
    app.engine.session_command(&app.company, &session, SessionAction::Start).await.unwrap();
    let submit =
        SessionAction::Submit { score: 70, max_score: Some(100), area_points: vec![], integrity_suggested: false };
    app.engine.session_command(&app.company, &session, submit).await.unwrap();

    // The endpoint fails the first attempt; nothing later may overtake the failed event.
    receiver.answer(StatusCode::BAD_GATEWAY);
    assert_eq!(app.worker.run_pending().await.unwrap(), 1, "only the session's first event is in flight");
    receiver.answer(StatusCode::OK);
    let (_, health) = app.store().webhook(&app.company, &WebhookId::parse("wh").unwrap()).await.unwrap().unwrap();
    app.clock.set(health.probe_after);
    // Probe, then the rest in order, one at a time per session.
    app.worker.run_pending().await.unwrap();
    let events: Vec<String> =
        receiver.received().iter().map(|r| body(r)["event"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        events,
        vec![
            "companyTestSessionCreated",
            "companyTestSessionCreated",
            "companyTestSessionStarted",
            "companyTestSessionFinished"
        ]
    );
}

#[tokio::test]
async fn sessions_are_independent_queues() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    app.webhook("wh", &receiver.url("/"), &EventKind::ALL).await;
    let mut sessions = Vec::new();
    for n in 0..5 {
        sessions.push(app.invite(&format!("c{n}@example.com")).await);
    }
    for session in &sessions {
        app.engine.session_command(&app.company, session, SessionAction::Start).await.unwrap();
    }
    app.worker.run_pending().await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 10);
    for session in &sessions {
        let mine: Vec<String> = received
            .iter()
            .map(body)
            .filter(|b| b["payload"]["testSessionId"] == session.as_str())
            .map(|b| b["event"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(mine, vec!["companyTestSessionCreated", "companyTestSessionStarted"], "session {session}");
    }
    // The five sessions' first events went out together, not one after the other.
    let first_round: Vec<String> =
        received[..5].iter().map(|r| body(r)["event"].as_str().unwrap().to_owned()).collect();
    assert!(first_round.iter().all(|e| e == "companyTestSessionCreated"), "{first_round:?}");
}
