//! The worker's own loop (`Worker::run`), as `serve` runs it: it finds due work by signals and
//! claims, not by `run_pending`.

use std::time::Duration;

use screenhook_delivery::{DeliveryConfig, Worker};
use screenhook_domain::EventKind;
use screenhook_testkit::TestReceiver;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};
use tokio_util::sync::CancellationToken;

use crate::app;

/// A backlog to one slow webhook, more than it may have in flight: while it is at its cap,
/// claims leave it out, and they must resume as soon as results are recorded — not on the
/// next poll (an hour here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_beyond_a_webhook_cap_drains_without_waiting_for_the_poll() {
    let app = app().await;
    let receiver = TestReceiver::start().await;
    // Slower than the worker's wait before recording, so results come back a few at a time.
    receiver.answer_after(Duration::from_millis(10));
    app.webhook("wh", &receiver.url("/"), &[EventKind::CompanyTestSessionCreated]).await;
    // Queued before the worker starts, so only claims can find them.
    for n in 0..40 {
        app.invite(&format!("candidate{n}@example.com")).await;
    }
    let sender = Sender::new(SenderConfig {
        egress: EgressPolicy { allow_loopback: true, ..EgressPolicy::default() },
        ..SenderConfig::default()
    })
    .unwrap();
    let config = DeliveryConfig {
        concurrency: 8,
        per_webhook: 1,
        poll_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    let worker = Worker::new(app.engine.store.clone(), sender, app.clock.clone(), config);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));

    let drained = tokio::time::timeout(Duration::from_secs(60), receiver.wait_for(40)).await;
    shutdown.cancel();
    running.await.unwrap();
    assert!(drained.is_ok(), "stalled after {} of 40 deliveries", receiver.received().len());
}
