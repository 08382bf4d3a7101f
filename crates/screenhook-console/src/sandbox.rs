//! The sandbox: its clock (advanced to reach expiries in seconds), the simulator with each
//! notification appearing as it is fired and delivered, and the way to the inspector.
//!
//! `POST /simulate/run` needs a signed-in admin of a sandbox company and its CSRF token; it
//! issues a temporary key with every permission for the run, revokes it after, and streams
//! the run as server-sent events: `step` (an HTML list item per act, firing and delivery),
//! then `report` (the final table) or `failed`.

use std::{convert::Infallible, fmt::Write as _, time::Duration};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::State,
    response::{
        IntoResponse, Redirect,
        sse::{Event, KeepAlive, Sse},
    },
};
use screenhook_domain::{Millis, Permission};
use screenhook_engine::keys;
use screenhook_simulator::{Observation, SimEvent, SimOptions, SimReport, simulate};
use screenhook_web::escape;
use tokio_stream::{StreamExt as _, wrappers::UnboundedReceiverStream};

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    form::Posted,
    view::{self, Nav, Notice},
};

/// The furthest one advance may move the clock.
const MAX_ADVANCE: Millis = Millis::days(366);

#[derive(Template, WebTemplate)]
#[template(path = "sandbox.html")]
struct SandboxPage {
    nav: Nav,
    notice: Option<Notice>,
    now: String,
    offset: String,
    paths: Vec<&'static str>,
}

fn sandbox_only(signed: &Signed) -> Result<(), Failure> {
    if signed.company.sandbox {
        Ok(())
    } else {
        Err(Failure::Forbidden(format!(
            "{} is not a sandbox company: only sandbox companies have a clock that can be advanced and run the simulator.",
            signed.company.name
        )))
    }
}

async fn page(console: &Console, signed: &Signed, notice: Option<Notice>) -> PageResult {
    let company = console.engine.store.company(&signed.company.id).await?.unwrap_or_else(|| signed.company.clone());
    Ok(SandboxPage {
        nav: Nav::new(signed, "sandbox"),
        notice,
        now: view::when(company.now(console.engine.clock.now())),
        offset: view::duration(company.clock_offset),
        paths: screenhook_simulator::path_names(),
    }
    .into_response())
}

/// `GET /sandbox`.
pub async fn page_get(State(console): State<Console>, signed: Signed) -> PageResult {
    sandbox_only(&signed)?;
    page(&console, &signed, None).await
}

/// `GET /simulate`: the simulator lives on the sandbox page.
pub async fn simulate_page() -> Redirect {
    Redirect::to("/sandbox#simulate")
}

/// `POST /sandbox/clock` with `amount` and `unit` (`minutes`, `hours` or `days`).
pub async fn advance_clock(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    sandbox_only(&signed)?;
    signed.require(Permission::Admin)?;
    let unit = match fields.get("unit") {
        Some("minutes") => Millis::MINUTE,
        Some("hours") => Millis::HOUR,
        Some("days") => Millis::DAY,
        other => {
            let message =
                format!("unit: “{}” is not a unit (allowed: minutes, hours, days)", other.unwrap_or_default());
            return page(&console, &signed, Notice::bad(message)).await;
        }
    };
    let raw = fields.get("amount").unwrap_or_default();
    let by = match raw.parse::<i64>() {
        Ok(n) if n > 0 && n.saturating_mul(unit.as_millis()) <= MAX_ADVANCE.as_millis() => {
            Millis::from_millis(n * unit.as_millis())
        }
        _ => {
            let message = format!(
                "amount: “{raw}” is not a usable advance (allowed: a whole number, more than 0, up to 366 days in all)"
            );
            return page(&console, &signed, Notice::bad(message)).await;
        }
    };
    let mut company = console
        .engine
        .store
        .company(&signed.company.id)
        .await?
        .ok_or_else(|| Failure::NotFound("The company no longer exists.".into()))?;
    company.clock_offset = Millis::from_millis(company.clock_offset.as_millis().saturating_add(by.as_millis()));
    console.engine.update_company(&company).await?;
    // Expiries and time limits that fall due in the new time fire now, not at the next tick.
    let fired = console.engine.fire_due_timers().await?;
    page(
        &console,
        &signed,
        Notice::ok(format!("The clock moved {} forward; {fired} timer(s) fired.", view::duration(by))),
    )
    .await
}

/// One line of the live feed.
fn step(event: &SimEvent) -> String {
    let (class, text) = match event {
        SimEvent::Setup { message } => ("muted", escape(message)),
        SimEvent::PathStarted { path, expected } => {
            ("", format!("<strong>{}</strong> — expects {expected} notifications", escape(path)))
        }
        SimEvent::Acted { path, act, session } => (
            "muted",
            format!("{}: {} <span class=\"mono small\">{}</span>", escape(path), escape(act), escape(session)),
        ),
        SimEvent::Fired { path, event, .. } => ("", format!("{}: fired <code>{}</code>", escape(path), escape(event))),
        SimEvent::Delivered { path, event, signatures_ok, .. } => {
            let signatures = match signatures_ok {
                Some(true) => " · both signatures ✓",
                Some(false) => " · signature ✗",
                None => "",
            };
            ("ok", format!("{}: delivered <code>{}</code>{signatures}", escape(path), escape(event)))
        }
        SimEvent::TimedOut { path, waiting_for } => {
            ("bad", format!("{}: no {} in time", escape(path), escape(waiting_for)))
        }
        SimEvent::PathFinished { path, passed } => {
            if *passed {
                ("ok", format!("<strong>{}</strong> passed", escape(path)))
            } else {
                ("bad", format!("<strong>{}</strong> FAILED", escape(path)))
            }
        }
    };
    format!("<li class=\"{class}\">{text}</li>")
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "n/a",
    }
}

/// The final report as an HTML table, every text escaped.
pub fn render(report: &SimReport) -> String {
    let mut out = String::new();
    let verdict = if report.passed() { "Every path passed." } else { "Some paths FAILED." };
    let _ = write!(out, "<p id=\"sim-verdict\"><strong>{verdict}</strong> ");
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

/// `POST /simulate/run` (optional `path` fields choose paths; none runs all eight).
pub async fn run_simulation(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    sandbox_only(&signed)?;
    signed.require(Permission::Admin)?;
    let Ok(running) = console.simulation.clone().try_lock_owned() else {
        return Err(Failure::BadRequest("A simulation is already running; try again when it ends.".into()));
    };
    let issued = keys::issue(
        &*console.engine.store,
        &signed.company.id,
        "temporary key of a console simulation",
        Permission::ALL.to_vec(),
        console.engine.clock.now(),
    )
    .await?;
    let mut options = SimOptions::new(console.self_url.clone(), issued.token);
    options.paths = fields.all("path");
    options.step_timeout = Duration::from_secs(30);

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let store = console.engine.store.clone();
    let clock = console.engine.clock.clone();
    let company = signed.company.id.clone();
    tokio::spawn(async move {
        let _running = running;
        let progress_tx = tx.clone();
        let result = simulate(options, move |event| {
            let _ = progress_tx.send(Event::default().event("step").data(step(&event)));
        })
        .await;
        // Revoked whatever happened: the key must not outlive the run.
        if let Err(err) = store.revoke_api_key(&company, &issued.key.public_id, clock.now()).await {
            tracing::error!(%err, key = %issued.key.public_id, "simulate: revoking the temporary key failed");
        }
        let last = match result {
            Ok(report) => Event::default().event("report").data(render(&report)),
            Err(err) => Event::default().event("failed").data(format!("The simulation could not run: {err}")),
        };
        let _ = tx.send(last);
    });
    let stream = UnboundedReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use screenhook_simulator::PathReport;

    #[test]
    fn the_table_and_the_feed_escape_what_they_show() {
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
        let line = step(&SimEvent::Setup { message: "<b>".into() });
        assert_eq!(line, "<li class=\"muted\">&lt;b&gt;</li>");
    }
}
