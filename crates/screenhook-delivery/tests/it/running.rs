//! The worker's own loop (`Worker::run`), as `serve` runs it: it finds due work by signals and
//! claims, not by `run_pending`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::http::StatusCode;
use screenhook_delivery::{DeliveryConfig, Worker};
use screenhook_domain::{EventKind, Millis, WebhookId};
use screenhook_engine::SessionAction;
use screenhook_testkit::TestReceiver;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};
use tokio_util::sync::CancellationToken;

use crate::{App, app};

/// `Worker::run` on the app's store, with `concurrency` and `per_webhook` as given and a poll
/// interval of an hour (unless set), so only signals and claims move it.
struct Running {
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(app: &App, concurrency: usize, per_webhook: usize) -> Running {
        Running::start_polling(app, concurrency, per_webhook, Duration::from_secs(3600))
    }

    fn start_polling(app: &App, concurrency: usize, per_webhook: usize, poll_interval: Duration) -> Running {
        let sender = Sender::new(SenderConfig {
            egress: EgressPolicy { allow_loopback: true, ..EgressPolicy::default() },
            ..SenderConfig::default()
        })
        .unwrap();
        let config = DeliveryConfig { concurrency, per_webhook, poll_interval, ..Default::default() };
        let worker = Worker::new(app.engine.store.clone(), sender, app.clock.clone(), config);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(worker.run(shutdown.clone()));
        Running { shutdown, task }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap();
    }
}

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
    let running = Running::start(&app, 8, 1);

    let drained = tokio::time::timeout(Duration::from_secs(60), receiver.wait_for(40)).await;
    running.stop().await;
    assert!(drained.is_ok(), "stalled after {} of 40 deliveries", receiver.received().len());
}

/// A slow endpoint with an older backlog than another endpoint's: the other's deliveries must
/// not queue behind that backlog (issue 3: a slow endpoint must not slow other endpoints).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_backlog_does_not_hold_up_another_endpoint() {
    let app = app().await;
    let slow = TestReceiver::start().await;
    slow.answer_after(Duration::from_millis(100));
    let fast = TestReceiver::start().await;
    app.webhook("slow", &slow.url("/"), &[EventKind::CompanyTestSessionCreated]).await;
    // Older than anything the fast endpoint gets, so first in every claim.
    for n in 0..16 {
        app.invite(&format!("early{n}@example.com")).await;
    }
    app.webhook("fast", &fast.url("/"), &[EventKind::CompanyTestSessionCreated]).await;
    for n in 0..12 {
        app.invite(&format!("candidate{n}@example.com")).await;
    }
    let running = Running::start(&app, 4, 1);

    let fast_done = tokio::time::timeout(Duration::from_secs(60), fast.wait_for(12)).await;
    let slow_by_then = slow.received().len();
    slow.wait_for(28).await;
    running.stop().await;
    assert!(fast_done.is_ok(), "the fast endpoint got {} of 12", fast.received().len());
    // The slow endpoint takes 100 ms a request, one at a time: the fast one is done within its
    // first few (queued behind the slow backlog, it would have waited for five or more).
    assert!(slow_by_then <= 2, "the fast endpoint waited for {slow_by_then} of the slow one's 28 deliveries");
}

/// Retries and probes fall due by time alone, so only the poll finds them: it must fire even
/// while fresh deliveries keep waking the worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_probe_goes_out_while_fresh_deliveries_keep_the_worker_busy() {
    let app = Arc::new(app().await);
    let failing = TestReceiver::start().await;
    let busy = TestReceiver::start().await;
    app.webhook("failing", &failing.url("/"), &[EventKind::CompanyTestSessionStarted]).await;
    app.webhook("busy", &busy.url("/"), &[EventKind::CompanyTestSessionCreated]).await;
    failing.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let session = app.invite("first@example.com").await;
    app.engine.session_command(&app.company, &session, SessionAction::Start).await.unwrap();
    app.worker.run_pending().await.unwrap();
    assert_eq!(failing.received().len(), 1, "the first attempt failed; the webhook waits for a probe");
    failing.answer(StatusCode::OK);

    let running = Running::start_polling(&app, 64, 8, Duration::from_millis(50));
    // Invitations keep coming, each a fresh delivery that wakes the worker.
    let stop = Arc::new(AtomicBool::new(false));
    let inviting = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                app.invite(&format!("busy{n}@example.com")).await;
                n += 1;
            }
        })
    };
    busy.wait_for(10).await;
    // Only now is the probe due, and nothing but time says so.
    let (_, health) = app.store().webhook(&app.company, &WebhookId::parse("failing").unwrap()).await.unwrap().unwrap();
    app.clock.set(health.probe_after);
    let probed = tokio::time::timeout(Duration::from_secs(30), failing.wait_for(2)).await;
    stop.store(true, Ordering::Relaxed);
    inviting.await.unwrap();
    running.stop().await;
    assert!(probed.is_ok(), "the probe never went out while deliveries kept flowing");
}

/// Once an attempt fails the webhook is unhealthy and gets one probe at a time: what the worker
/// had already leased for it is given back, not sent to the failing endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_not_sent_what_was_leased_for_it() {
    let app = app().await;
    let dead = TestReceiver::start().await;
    dead.answer(StatusCode::INTERNAL_SERVER_ERROR);
    app.webhook("dead", &dead.url("/"), &[EventKind::CompanyTestSessionCreated]).await;
    for n in 0..10 {
        app.invite(&format!("candidate{n}@example.com")).await;
    }
    // One request at a time, four leased: three wait in memory while the first fails.
    let running = Running::start(&app, 8, 1);
    let recorded = tokio::time::timeout(Duration::from_secs(30), async {
        while !app.log("dead").await.iter().any(|d| d.attempts > 0) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    running.stop().await;
    assert!(recorded.is_ok(), "the failed attempt was never recorded");
    assert_eq!(dead.received().len(), 1, "only the first attempt reached the failing endpoint");

    // Given back, not left leased: the probe is the oldest delivery never attempted.
    let log = app.log("dead").await;
    let (_, health) = app.store().webhook(&app.company, &WebhookId::parse("dead").unwrap()).await.unwrap().unwrap();
    let probe = app.store().claim_deliveries(health.probe_after, Millis::from_millis(120_000), 10, &[]).await.unwrap();
    assert_eq!(probe.len(), 1);
    assert!(probe[0].probe);
    assert_eq!((probe[0].delivery_id, probe[0].attempts), (log[1].id, 0));
}
