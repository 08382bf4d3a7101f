//! Every path passes against a fresh server, from the library and from the `/simulate` page.

use std::time::Duration;

use screenhook_simulator::{Observation, SimEvent, SimOptions, path_names, simulate};
use serde_json::Value;

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
    // The webhook was cleaned up.
    let company = screenhook_domain::CompanyId::parse("sandbox").unwrap();
    assert!(server.store.webhooks(&company).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_runs_the_simulation_against_its_own_server() {
    let server = spawn_server(false).await;
    let http = reqwest::Client::new();
    let page = http.get(format!("{}/simulate", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Run the simulation"));
    let res = http.post(format!("{}/simulate/run", server.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let rows = body["report"]["paths"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r["passed"] == true), "{body:#}");
    assert!(body["html"].as_str().unwrap().contains("Every path passed."));
    // The temporary key was revoked: only the bootstrap key is live.
    let company = screenhook_domain::CompanyId::parse("sandbox").unwrap();
    let live = server.store.api_keys(&company).await.unwrap().into_iter().filter(|k| k.revoked_at.is_none()).count();
    assert_eq!(live, 1);
}
