//! Every path passes against a fresh server.

use std::time::Duration;

use screenhook_simulator::{Observation, SimEvent, SimOptions, path_names, simulate};

use crate::spawn_server;

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
    assert!(server.store.webhooks(&company).await.unwrap().is_empty());
}
