//! The legacy bridge at delivery level: a webhook still subscribed to Certify names only
//! receives Certify-shaped payloads over HTTP, signed both ways, for every Certify event the
//! Pre-Screen lifecycle can still cause.

use screenhook_domain::{
    EventKind, FrameworkId, Millis, RejectionReason, SessionId, TestId,
    test::{NewFrameworkTest, TestCommand},
};
use screenhook_engine::{Clock, InviteInput, SessionAction};
use screenhook_testkit::{Received, TestReceiver};
use screenhook_webhooks::codesignal_signature;

use crate::{App, SECRET, app, body};

async fn certified(app: &App, proctored: bool) -> TestId {
    let cmd = TestCommand::CreateFromFramework(NewFrameworkTest {
        id: TestId::parse("placeholder").unwrap(),
        company_id: app.company.clone(),
        framework_id: FrameworkId::parse("general-coding").unwrap(),
        title: format!("GCF (proctored: {proctored})"),
        external_title: "Coding assessment".into(),
        internal_description: None,
        proctored,
        default_expiration: None,
        result_date_limit: None,
        labels: vec![],
    });
    app.engine.create_test(&app.company, cmd).await.unwrap().0.id
}

async fn invite(app: &App, test: &TestId, email: &str) -> SessionId {
    let input = InviteInput {
        test_id: test.clone(),
        candidate_first_name: "Jane".into(),
        candidate_last_name: "Doe".into(),
        candidate_email: email.into(),
        external_id: None,
        expire_duration: Some(Millis::days(3)),
        custom_duration: None,
        integrations: Default::default(),
        prefer_existing: false,
    };
    app.engine.invite(&app.company, input).await.unwrap().session.id
}

async fn act(app: &App, session: &SessionId, actions: Vec<SessionAction>) {
    for action in actions {
        app.engine.session_command(&app.company, session, action).await.unwrap();
    }
}

fn take() -> Vec<SessionAction> {
    vec![
        SessionAction::Start,
        SessionAction::Submit { score: 1000, max_score: None, area_points: vec![], integrity_suggested: false },
    ]
}

/// Checks both signatures of `request` (sent to `url`) and returns its event and payload.
fn verified(request: &Received, url: &str) -> (String, serde_json::Value) {
    let envelope = body(request);
    let event = envelope["event"].as_str().unwrap().to_owned();
    let triggered_on = envelope["triggeredOn"].as_i64().unwrap().to_string();
    let expected = codesignal_signature(SECRET, url, &event, &triggered_on);
    assert_eq!(request.header("x-codesignal-signature"), Some(expected.as_str()), "{event}");
    let oracle = standardwebhooks::Webhook::new(SECRET).unwrap();
    let timestamp: i64 = request.header("webhook-timestamp").unwrap().parse().unwrap();
    let signed = oracle.sign(request.header("webhook-id").unwrap(), timestamp, &request.body).unwrap();
    assert_eq!(request.header("webhook-signature"), Some(signed.as_str()), "{event}");
    (event, envelope["payload"].clone())
}

#[tokio::test]
async fn a_certify_only_webhook_receives_every_derived_certify_event_signed() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    let url = receiver.url("/certify");
    let legacy: Vec<EventKind> = EventKind::ALL.into_iter().filter(|e| e.is_legacy_certify()).collect();
    assert_eq!(legacy.len(), 6);
    app.webhook("wh-certify", &url, &legacy).await;
    let open = certified(&app, false).await;
    let proctored = certified(&app, true).await;

    // Not proctored, finished: the final result.
    let finished = invite(&app, &open, "a@example.com").await;
    act(&app, &finished, take()).await;
    // Proctored: pending, then verified (shared).
    let verified_session = invite(&app, &proctored, "b@example.com").await;
    act(&app, &verified_session, take()).await;
    act(&app, &verified_session, vec![SessionAction::Verify]).await;
    // Proctored: pending, then not certified, with its reasons.
    let rejected = invite(&app, &proctored, "c@example.com").await;
    act(&app, &rejected, take()).await;
    let reason = RejectionReason { name: "idMismatch".into(), description: "The ID does not match".into() };
    act(&app, &rejected, vec![SessionAction::NotVerify { reasons: vec![reason], technical_issue: false }]).await;
    // Declined by the candidate.
    let declined = invite(&app, &open, "d@example.com").await;
    act(&app, &declined, vec![SessionAction::Decline]).await;
    // A re-share of b's verified result to a new invitation.
    let reshared = invite(&app, &proctored, "b@example.com").await;
    act(&app, &reshared, vec![SessionAction::ShareResult { source: None }]).await;
    // Expired.
    let expired = invite(&app, &open, "e@example.com").await;
    app.clock.advance(Millis::days(4));
    app.engine.fire_due_timers().await.unwrap();
    app.worker.run_pending().await.unwrap();
    assert!(app.clock.now() > crate::T0);

    let mut seen: Vec<(String, String)> = Vec::new();
    for request in receiver.received() {
        let (event, payload) = verified(&request, &url);
        assert!(EventKind::from_name(&event).is_some_and(EventKind::is_legacy_certify), "only Certify names: {event}");
        let request_id =
            payload["certificationRequestId"].as_str().expect("Certify-shaped: keyed by request").to_owned();
        seen.push((event, request_id));
    }
    let expect = |event: &str, session: &SessionId| {
        assert!(
            seen.iter().any(|(e, id)| e == event && id == session.as_str()),
            "{event} for {session} not delivered; got {seen:?}"
        );
    };
    expect("certificationResultShared", &finished);
    expect("certificationResultPending", &verified_session);
    expect("certificationResultShared", &verified_session);
    expect("certificationResultPending", &rejected);
    expect("certificationResultNotCertified", &rejected);
    // A result not verified leaves the invitation open until it expires, as Certify's did.
    expect("certificationRequestExpired", &rejected);
    expect("certificationRequestRejected", &declined);
    expect("certificationResultShared", &reshared);
    expect("certificationRequestExpired", &expired);
    assert_eq!(seen.len(), 9, "nothing else: {seen:?}");
    // The shared result carries the result, the way Certify listeners read it.
    let shared = receiver
        .received()
        .into_iter()
        .map(|r| body(&r))
        .find(|b| {
            b["event"] == "certificationResultShared" && b["payload"]["certificationRequestId"] == finished.as_str()
        })
        .unwrap();
    let sessions = shared["payload"]["sharedTestSessions"].as_array().expect("sharedTestSessions");
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0]["url"].as_str().unwrap().contains("/test-result/"), "{shared}");
}
