//! What goes over the wire: the envelope, the headers and both signatures.

use screenhook_domain::EventKind;
use screenhook_engine::Clock;
use screenhook_testkit::TestReceiver;
use screenhook_webhooks::codesignal_signature;

use crate::{SECRET, app, body};

#[tokio::test]
async fn deliveries_carry_the_documented_envelope_and_both_signatures() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    let url = receiver.url("/hooks/codesignal");
    app.webhook("wh", &url, &[EventKind::CompanyTestSessionCreated]).await;
    let session = app.invite("jane@example.com").await;
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/codesignal");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(request.header("user-agent").unwrap().starts_with("screenhook/"), "{:?}", request.header("user-agent"));
    assert_eq!(request.header("x-team"), Some("hiring"));

    let envelope = body(request);
    let event = &app.store().events_of_session(&app.company, &session).await.unwrap()[0];
    assert_eq!(
        envelope,
        serde_json::json!({
            "event": "companyTestSessionCreated",
            "triggeredOn": event.triggered_on.as_millis(),
            "payload": {
                "testSessionId": session.as_str(),
                "testId": app.test.as_str(),
                "testTitle": "Take-home",
                "candidateEmail": "jane@example.com",
                "candidateName": "Jane Doe",
                "externalId": "ats-42",
            }
        })
    );
    // The envelope's fields come in CodeSignal's order on the wire.
    let raw = std::str::from_utf8(&request.body).unwrap();
    let prefix = format!(
        "{{\"event\":\"companyTestSessionCreated\",\"triggeredOn\":{},\"payload\":{{",
        event.triggered_on.as_millis()
    );
    assert!(raw.starts_with(&prefix), "{raw}");

    // The CodeSignal signature: lowercase hex HMAC of URL + event + triggeredOn.
    let expected =
        codesignal_signature(SECRET, &url, "companyTestSessionCreated", &event.triggered_on.as_millis().to_string());
    assert_eq!(request.header("x-codesignal-signature"), Some(expected.as_str()));

    // Standard Webhooks, checked by an independent verifier.
    assert_eq!(request.header("webhook-id"), Some(event.id.as_str()));
    // (The oracle's `verify` also checks the timestamp against the wall clock, which this test
    // replaces with a manual one, so the oracle signs the same content and we compare.)
    let oracle = standardwebhooks::Webhook::new(SECRET).unwrap();
    let timestamp: i64 = request.header("webhook-timestamp").unwrap().parse().unwrap();
    let expected = oracle.sign(event.id.as_str(), timestamp, &request.body).unwrap();
    assert_eq!(request.header("webhook-signature"), Some(expected.as_str()));
    assert_eq!(timestamp, app.clock.now().as_millis() / 1000);
}

#[tokio::test]
async fn webhooks_receive_only_what_they_subscribe_to() {
    let app = app().await;
    let everything = TestReceiver::start().await;
    let started_only = TestReceiver::start().await;
    app.webhook("wh-all", &everything.url("/"), &EventKind::ALL).await;
    app.webhook("wh-started", &started_only.url("/"), &[EventKind::CompanyTestSessionStarted]).await;
    let session = app.invite("jane@example.com").await;
    app.engine.session_command(&app.company, &session, screenhook_engine::SessionAction::Start).await.unwrap();
    app.worker.run_pending().await.unwrap();
    let events = |r: &TestReceiver| {
        r.received().iter().map(|r| body(r)["event"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(events(&everything), vec!["companyTestSessionCreated", "companyTestSessionStarted"]);
    assert_eq!(events(&started_only), vec!["companyTestSessionStarted"]);
}
