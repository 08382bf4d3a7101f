//! The simulator in the server's UI: `GET /simulate` is a plain page with a "Run the
//! simulation" button; `POST /simulate/run` runs the simulator against this server itself, for
//! the sandbox company, and answers `{report, html}` (the report as JSON and as a rendered
//! table). It issues a temporary key with every permission for the run and revokes it after,
//! so no key has to be pasted into a page. One run at a time: two runs would advance the
//! sandbox clock under each other's invitations.

use std::{fmt::Write as _, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use screenhook_domain::{Company, Permission};
use screenhook_engine::{Clock, keys};
use screenhook_inspector::page::escape;
use screenhook_store::Store;
use serde_json::json;
use tokio::sync::Mutex;

use crate::{Observation, SimOptions, SimReport, simulate};

/// What the page needs.
#[derive(Clone)]
pub struct SimulatePage {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// How the server reaches itself (its listen address): the simulator talks HTTP to it.
    self_url: String,
    step_timeout: Duration,
    running: Arc<Mutex<()>>,
}

impl SimulatePage {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, self_url: impl Into<String>) -> SimulatePage {
        SimulatePage {
            store,
            clock,
            self_url: self_url.into(),
            step_timeout: Duration::from_secs(30),
            running: Arc::new(Mutex::new(())),
        }
    }

    /// How long each step's notification is awaited (30 s by default).
    pub fn with_step_timeout(mut self, timeout: Duration) -> SimulatePage {
        self.step_timeout = timeout;
        self
    }

    pub fn router(self) -> Router {
        Router::new().route("/simulate", get(page)).route("/simulate/run", post(run)).with_state(self)
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message.into() } }))).into_response()
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn run(State(page): State<SimulatePage>) -> Response {
    let Ok(_running) = page.running.try_lock() else {
        return error(
            StatusCode::CONFLICT,
            "already_running",
            "a simulation is already running; try again when it ends",
        );
    };
    let company = match page.store.companies().await {
        Ok(companies) => companies.into_iter().find(|c| c.sandbox),
        Err(err) => {
            tracing::error!(%err, "simulate: listing companies");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the database did not answer");
        }
    };
    let Some(company) = company else {
        return error(StatusCode::CONFLICT, "no_sandbox", "this server has no sandbox company to simulate with");
    };
    match run_for(&page, &company).await {
        Ok(report) => Json(json!({ "report": report, "html": render(&report) })).into_response(),
        Err(message) => error(StatusCode::BAD_GATEWAY, "simulation_failed", message),
    }
}

async fn run_for(page: &SimulatePage, company: &Company) -> Result<SimReport, String> {
    let issued = keys::issue(
        &*page.store,
        &company.id,
        "temporary key of a /simulate run",
        Permission::ALL.to_vec(),
        page.clock.now(),
    )
    .await
    .map_err(|err| format!("issuing a temporary key: {err}"))?;
    let mut options = SimOptions::new(page.self_url.clone(), issued.token);
    options.step_timeout = page.step_timeout;
    let result = simulate(options, |_| {}).await;
    // Revoked whatever happened: the key must not outlive the run.
    if let Err(err) = page.store.revoke_api_key(&company.id, &issued.key.public_id, page.clock.now()).await {
        tracing::error!(%err, key = %issued.key.public_id, "simulate: revoking the temporary key failed");
    }
    result.map_err(|err| err.to_string())
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "n/a",
    }
}

/// The report as an HTML table, every text escaped.
pub fn render(report: &SimReport) -> String {
    let mut out = String::new();
    let verdict = if report.passed() { "Every path passed." } else { "Some paths FAILED." };
    let _ = write!(out, "<p><strong>{verdict}</strong> ");
    match &report.observation {
        Observation::Bin { page_url, .. } => {
            let url = escape(page_url);
            let _ = write!(out, "Deliveries were received by the inspector bin <a href=\"{url}\">{url}</a>.</p>");
        }
        Observation::DeliveryLog { url } => {
            let _ = write!(out, "Deliveries to {} were read from the delivery log.</p>", escape(url));
        }
    }
    out.push_str(
        "<table><thead><tr><th>Path</th><th>Expected events</th><th>Delivered events</th><th>Order</th>\
         <th>Signatures</th><th>Result</th></tr></thead><tbody>",
    );
    for row in &report.paths {
        let list = |events: &[String]| events.iter().map(|e| escape(e)).collect::<Vec<_>>().join("<br>");
        let mut notes = Vec::new();
        if !row.missing.is_empty() {
            notes.push(format!("missing: {}", row.missing.join(", ")));
        }
        if !row.unexpected.is_empty() {
            notes.push(format!("unexpected: {}", row.unexpected.join(", ")));
        }
        notes.extend(row.signature_problem.clone());
        notes.extend(row.error.clone());
        let result = if row.passed { "pass".to_owned() } else { format!("FAIL {}", escape(&notes.join("; "))) };
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if row.passed { "pass" } else { "fail" },
            escape(row.path),
            list(&row.expected),
            list(&row.delivered),
            mark(Some(row.order_ok)),
            mark(row.signatures_ok),
            result,
        );
    }
    out.push_str("</tbody></table>");
    out
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Simulate the lifecycle — screenhook</title>
<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin-top:1rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
tr.fail{background:#fee}tr.pass{background:#efe}</style>
</head><body>
<h1>Simulate every path of the lifecycle</h1>
<p>Runs the seven paths of the lifecycle table for the sandbox company — not proctored, proctored
verified, proctored rejected then expired, technical issue and retake, re-share, decline, never
started — with a fresh candidate each, advancing the sandbox clock for expiries. A webhook for
all events points at a new inspector bin; each path's deliveries are compared with the table,
in order, and both signatures are checked. It takes about half a minute.</p>
<p><button id="run">Run the simulation</button> <span id="status" role="status"></span></p>
<div id="report"></div>
<script>
document.getElementById('run').addEventListener('click', async () => {
  const button = document.getElementById('run'), status = document.getElementById('status');
  button.disabled = true; status.textContent = 'Running…';
  try {
    const r = await fetch('/simulate/run', {method: 'POST'});
    const j = await r.json();
    if (!r.ok) { status.textContent = j.error.message; return; }
    status.textContent = '';
    document.getElementById('report').innerHTML = j.html;
  } catch (e) { status.textContent = String(e); }
  finally { button.disabled = false; }
});
</script>
</body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PathReport;

    #[test]
    fn the_table_escapes_what_it_shows() {
        let report = SimReport {
            observation: Observation::DeliveryLog { url: "https://x.example/<hook>".into() },
            paths: vec![PathReport {
                path: "declined",
                sessions: vec![],
                expected: vec!["companyTestSessionCreated".into()],
                delivered: vec![],
                missing: vec!["companyTestSessionCreated".into()],
                unexpected: vec![],
                order_ok: true,
                signatures_ok: None,
                signature_problem: None,
                error: Some("<script>".into()),
                passed: false,
            }],
        };
        let html = render(&report);
        assert!(html.contains("https://x.example/&lt;hook&gt;"));
        assert!(html.contains("FAIL missing: companyTestSessionCreated; &lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
