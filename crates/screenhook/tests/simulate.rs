//! `screenhook simulate` against a fresh server: what `serve` runs (the `App`) on a SQLite file in
//! a temporary directory, in this process on a port of its own, with a short integrity delay so
//! the non-proctored path takes milliseconds rather than 5 s, and short polls.
//!
//! Every path passes. And the simulator fails loudly when a real receiver breaks a delivery: one
//! answering 500 to an event (the delivery is retried only after the step's deadline: missing),
//! and one slow to answer an event while the path goes on with another session (it arrives
//! late: out of order); and through the delivery log it follows a live interview too.

mod support;

use std::time::Duration;

use axum::{Router, body::Bytes, http::StatusCode, routing::post};
use screenhook_simulator::{Observation, SimEvent, SimOptions, path_names, simulate};
use serde_json::Value;

struct Server {
    app: screenhook::Running,
    base: String,
    key: String,
    _dir: tempfile::TempDir,
}

/// `allow_loopback: false` is `serve`'s default: the simulator's bin is then reachable only
/// as a trusted prefix, as in production. Tests with receivers of their own need `true`.
async fn spawn_server(allow_loopback: bool) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("sim.db");
    let app = support::spawn_app(&[
        ("SCREENHOOK_DATABASE__PATH", db.to_str().expect("a UTF-8 path")),
        ("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", if allow_loopback { "true" } else { "false" }),
        ("SCREENHOOK_SCHEDULER__INTEGRITY_REVIEW_DELAY_MS", "200"),
        ("SCREENHOOK_SCHEDULER__POLL_INTERVAL_MS", "50"),
        ("SCREENHOOK_DELIVERY__POLL_INTERVAL_MS", "50"),
    ])
    .await;
    let key = app.created_sandbox().expect("a fresh database").key.clone();
    Server { base: app.url(), key, app, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_passes_against_a_fresh_server() {
    let server = spawn_server(false).await;
    let mut options = SimOptions::new(&server.base, &server.key);
    options.step_timeout = Duration::from_secs(10);
    let mut events = Vec::new();
    let report = simulate(options, |e| events.push(e)).await.expect("the simulation runs");
    for row in &report.paths {
        assert!(row.passed, "{row:#?}");
        assert_eq!(row.delivered, row.expected);
        assert_eq!((row.order_ok, row.signatures_ok), (true, Some(true)), "{}", row.path);
    }
    assert_eq!(report.paths.iter().map(|r| r.path).collect::<Vec<_>>(), path_names());
    assert!(matches!(report.observation, Observation::Bin { .. }));
    // Every notification was reported as fired and as delivered, and nothing timed out.
    let count = |f: fn(&SimEvent) -> bool| events.iter().filter(|e| f(e)).count();
    let total: usize = report.paths.iter().map(|r| r.expected.len()).sum();
    assert_eq!(count(|e| matches!(e, SimEvent::Fired { .. })), total);
    assert_eq!(count(|e| matches!(e, SimEvent::Delivered { signatures_ok: Some(true), .. })), total);
    assert_eq!(count(|e| matches!(e, SimEvent::TimedOut { .. })), 0);
    // The technical-issue path followed its retake session.
    let retake = report.paths.iter().find(|r| r.path == "proctored, technical issue").unwrap();
    assert_eq!(retake.sessions.len(), 2);
    // The live interview's two notifications arrived, about the interview it scheduled.
    let interview = report.paths.iter().find(|r| r.path == screenhook_simulator::LIVE_INTERVIEW).unwrap();
    assert_eq!(interview.delivered, ["liveInterviewFinished", "liveInterviewFeedbackUpdated"]);
    assert_eq!(interview.sessions.len(), 1);
    let delivered_about =
        |id: &str| events.iter().filter(|e| matches!(e, SimEvent::Delivered { session, .. } if session == id)).count();
    assert_eq!(delivered_about(&interview.sessions[0]), 2);
    // The webhook was cleaned up.
    let company = screenhook_domain::CompanyId::parse("sandbox").unwrap();
    assert!(server.app.store().webhooks(&company).await.unwrap().is_empty());
}

/// A receiver that answers `status` after `delay` to deliveries of `event`, and 200 at once to
/// everything else (the verification ping included).
async fn receiver(event: &'static str, status: StatusCode, delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/hooks",
        post(move |body: Bytes| async move {
            let envelope: Value = serde_json::from_slice(&body).unwrap_or_default();
            if envelope["event"] == event {
                tokio::time::sleep(delay).await;
                status
            } else {
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_the_receiver_refuses_is_reported_missing() {
    let server = spawn_server(true).await;
    let url = receiver("preScreenResultVerified", StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let mut options = SimOptions::new(&server.base, &server.key);
    options.webhook_url = Some(url);
    options.paths = vec!["proctored, verified".into()];
    options.step_timeout = Duration::from_secs(2);
    let mut timed_out = Vec::new();
    let report = simulate(options, |e| {
        if let SimEvent::TimedOut { waiting_for, .. } = e {
            timed_out.push(waiting_for);
        }
    })
    .await
    .expect("the simulation runs");
    let row = &report.paths[0];
    assert!(!row.passed, "{row:#?}");
    assert_eq!(row.missing, ["preScreenResultVerified"]);
    assert_eq!(
        row.delivered,
        ["companyTestSessionCreated", "companyTestSessionStarted", "preScreenResultVerificationPending"]
    );
    assert!(row.order_ok);
    // The requests are not visible through the delivery log: no signature verdict.
    assert_eq!(row.signatures_ok, None);
    assert_eq!(timed_out, ["preScreenResultVerified"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_arrives_late_is_reported_out_of_order() {
    let server = spawn_server(true).await;
    // The original session's rejection is answered after 4 s; meanwhile the retake session's
    // events are delivered (another session is not held behind it).
    let url = receiver("preScreenResultNotVerified", StatusCode::OK, Duration::from_secs(4)).await;
    let mut options = SimOptions::new(&server.base, &server.key);
    options.webhook_url = Some(url);
    options.paths = vec!["proctored, technical issue".into()];
    options.step_timeout = Duration::from_millis(2500);
    let report = simulate(options, |_| {}).await.expect("the simulation runs");
    let row = &report.paths[0];
    assert!(!row.passed, "{row:#?}");
    assert!(row.missing.is_empty(), "{row:#?}");
    assert!(!row.order_ok, "{row:#?}");
    assert_eq!(row.delivered.last().map(String::as_str), Some("preScreenResultNotVerified"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_interview_is_followed_through_the_delivery_log_and_a_refused_feedback_is_missing() {
    let server = spawn_server(true).await;
    let url = receiver("liveInterviewFeedbackUpdated", StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let mut options = SimOptions::new(&server.base, &server.key);
    options.webhook_url = Some(url);
    options.paths = vec!["live interview".into()];
    options.step_timeout = Duration::from_secs(2);
    let report = simulate(options, |_| {}).await.expect("the simulation runs");
    let row = &report.paths[0];
    assert_eq!(row.path, "live interview");
    assert!(!row.passed, "{row:#?}");
    assert_eq!(row.delivered, ["liveInterviewFinished"]);
    assert_eq!(row.missing, ["liveInterviewFeedbackUpdated"]);
    assert_eq!((row.order_ok, row.signatures_ok, row.error.as_deref()), (true, None, None));
}
