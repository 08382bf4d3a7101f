//! CodeSignal's retry policy on a manual clock: the formula, Retry-After, disabling, and
//! nothing dropped.

use std::time::Duration;

use axum::http::StatusCode;
use screenhook_domain::{EventKind, Millis, WebhookId, WebhookState};
use screenhook_engine::Clock;
use screenhook_store::DeliveryState;
use screenhook_testkit::TestReceiver;

use crate::app;

/// The formula's bounds for the n-th failure, in ms: random(30) is in [0, 30].
fn bounds(n: u32) -> (i64, i64) {
    let base = (i64::from(n) - 1).pow(4) + 15;
    (base * 1000, (base + 30 * i64::from(n)) * 1000)
}

#[tokio::test]
async fn failures_retry_on_the_formula_and_disable_the_webhook_after_25() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    app.webhook("wh", &receiver.url("/"), &EventKind::ALL).await;
    app.invite("jane@example.com").await;
    let id = WebhookId::parse("wh").unwrap();

    for n in 1..=25u32 {
        assert_eq!(app.worker.run_pending().await.unwrap(), 1, "attempt {n} goes out alone");
        let (_, health) = app.store().webhook(&app.company, &id).await.unwrap().unwrap();
        assert_eq!(health.consecutive_failures, n);
        let log = app.log("wh").await;
        let attempts = app.store().attempts(&app.company, log[0].id).await.unwrap();
        let at = attempts.last().unwrap().at;
        if n < 25 {
            assert_eq!(health.state, WebhookState::Unhealthy);
            let (low, high) = bounds(n);
            let wait = log[0].next_attempt_at.as_millis() - at.as_millis();
            assert!((low..=high).contains(&wait), "failure {n}: retry after {wait} ms, expected {low}..={high}");
            let probe = health.probe_after.as_millis() - at.as_millis();
            assert!((low..=high).contains(&probe), "failure {n}: probe after {probe} ms");
            // Nothing goes out before the probe is due...
            app.clock.set(health.probe_after.plus(Millis::from_millis(-1)));
            assert_eq!(app.worker.run_pending().await.unwrap(), 0);
            // ...and exactly one request when it is.
            app.clock.set(health.probe_after);
        } else {
            assert_eq!(health.state, WebhookState::Disabled);
        }
    }
    assert_eq!(receiver.received().len(), 25);
    // Same webhook-id on every attempt, a fresh timestamp each time.
    let ids: std::collections::HashSet<_> =
        receiver.received().iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1);
    let stamps: Vec<i64> =
        receiver.received().iter().map(|r| r.header("webhook-timestamp").unwrap().parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]));

    // Disabled: no more attempts, however long we wait; new events still queue, visibly.
    app.invite("joe@example.com").await;
    app.clock.advance(Millis::days(60));
    assert_eq!(app.worker.run_pending().await.unwrap(), 0);
    let log = app.log("wh").await;
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d.paused), "kept, waiting for the webhook to be repaired");
    assert_eq!(log[0].state, DeliveryState::Failed, "the first event used its 25 attempts");
    assert_eq!(log[1].state, DeliveryState::Ready);

    // Repaired (test and save): the kept queue flows at once, and the failed one can be recovered.
    receiver.answer(StatusCode::OK);
    assert!(app.store().restore_webhook(&app.company, &id, app.clock.now()).await.unwrap());
    assert_eq!(
        app.store()
            .recover(&app.company, &id, app.clock.now().plus(Millis::days(-365)), app.clock.now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.worker.run_pending().await.unwrap(), 2);
    let delivered = app.log("wh").await.iter().filter(|d| d.state == DeliveryState::Delivered).count();
    assert_eq!(delivered, 2);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_within_bounds() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    receiver.answer_retry_after(StatusCode::TOO_MANY_REQUESTS, "1800");
    app.webhook("wh", &receiver.url("/"), &EventKind::ALL).await;
    app.invite("jane@example.com").await;
    app.worker.run_pending().await.unwrap();
    let log = app.log("wh").await;
    let attempts = app.store().attempts(&app.company, log[0].id).await.unwrap();
    assert_eq!(attempts[0].status, Some(429));
    let wait = log[0].next_attempt_at.as_millis() - attempts[0].at.as_millis();
    assert_eq!(wait, 1_800_000, "the receiver asked for 30 minutes");

    // A Retry-After beyond the cap is clamped.
    receiver.answer_retry_after(StatusCode::SERVICE_UNAVAILABLE, "864000");
    app.clock.advance(Millis::HOUR);
    app.worker.run_pending().await.unwrap();
    let log = app.log("wh").await;
    let attempts = app.store().attempts(&app.company, log[0].id).await.unwrap();
    let wait = log[0].next_attempt_at.as_millis() - attempts[1].at.as_millis();
    assert!(wait <= Duration::from_secs(3600).as_millis() as i64, "clamped to at most an hour here: {wait}");
}

#[tokio::test]
async fn one_dead_endpoint_does_not_delay_another() {
    let app = app().await;
    let healthy = TestReceiver::start().await;
    // Nothing listens on this port: every attempt fails to connect.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", listener.local_addr().unwrap())
    };
    app.webhook("wh-dead", &dead, &EventKind::ALL).await;
    app.webhook("wh-ok", &healthy.url("/"), &EventKind::ALL).await;
    for n in 0..20 {
        app.invite(&format!("candidate{n}@example.com")).await;
    }
    app.worker.run_pending().await.unwrap();
    assert_eq!(healthy.received().len(), 20, "every event reached the healthy endpoint in the first pass");
    let dead_log = app.log("wh-dead").await;
    let attempted: u32 = dead_log.iter().map(|d| d.attempts).sum();
    assert!(attempted <= 20, "the dead endpoint was not hammered: {attempted} attempts");
    let attempts =
        app.store().attempts(&app.company, dead_log.iter().find(|d| d.attempts > 0).unwrap().id).await.unwrap();
    assert_eq!(attempts[0].error_class.as_deref(), Some("connect"));
    // The dead endpoint is now probed one request at a time.
    let (_, health) = app.store().webhook(&app.company, &WebhookId::parse("wh-dead").unwrap()).await.unwrap().unwrap();
    app.clock.set(health.probe_after);
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);
}
