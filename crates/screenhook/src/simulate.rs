//! `screenhook simulate`: runs the end-to-end simulator against a server, shows each
//! notification as it is fired and delivered (with a progress bar on a terminal), and ends
//! with one table row per path; exits non-zero when a path fails.

use std::{io::IsTerminal as _, time::Duration};

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use screenhook_simulator::{Observation, SimEvent, SimOptions, SimReport, expected_notifications, simulate};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8740")]
    url: String,
    /// An API key of a sandbox company with every permission (customer, admin and proctor),
    /// such as the one `screenhook serve` prints on first start.
    #[arg(long, env = "SCREENHOOK_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Also deliver every event to this receiver of yours: the webhook points there instead
    /// of an inspector bin, and deliveries are read from the delivery log (signatures then
    /// cannot be checked here; check them in your receiver).
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// Run only this path (repeatable): "not proctored, completed", "proctored, verified",
    /// "proctored, rejected", "proctored, technical issue", "result re-shared", "declined",
    /// "never started", "live interview". All eight by default.
    #[arg(long = "path", value_name = "NAME")]
    paths: Vec<String>,
    /// Seconds to wait for each step's notification before calling it missing.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut options = SimOptions::new(args.url, args.api_key);
    options.webhook_url = args.webhook_url;
    options.step_timeout = Duration::from_secs(args.timeout);
    let total = expected_notifications(&args.paths)?;
    options.paths = args.paths;
    let bar = progress_bar(total as u64);
    let report = runtime.block_on(simulate(options, |event| show(&bar, event)))?;
    bar.finish_and_clear();
    print!("{}", table(&report));
    let failed = report.paths.iter().filter(|p| !p.passed).count();
    if failed > 0 {
        bail!("{failed} of {} paths failed", report.paths.len());
    }
    Ok(())
}

/// One step per expected delivery; hidden when stderr is not a terminal (CI logs get the
/// plain lines only).
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} delivered  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A progress line above the bar, or on stderr when the bar is hidden (where indicatif
/// prints nothing).
fn line(bar: &ProgressBar, text: String) {
    if bar.is_hidden() { eprintln!("{text}") } else { bar.println(text) }
}

fn show(bar: &ProgressBar, event: SimEvent) {
    match event {
        SimEvent::Setup { message } => line(bar, message),
        SimEvent::PathStarted { path, expected } => {
            bar.set_message(path);
            line(bar, format!("\n▶ {path} ({expected} events)"));
        }
        SimEvent::Acted { act, session, .. } => line(bar, format!("    → {act:<40} session {session}")),
        SimEvent::Fired { event, .. } => line(bar, format!("      fired      {event}")),
        SimEvent::Delivered { event, signatures_ok, .. } => {
            bar.inc(1);
            let sigs = match signatures_ok {
                Some(true) => "signatures ✓",
                Some(false) => "signatures ✗",
                None => "",
            };
            line(bar, format!("      delivered  {event:<40} {sigs}"));
        }
        SimEvent::TimedOut { waiting_for, .. } => line(bar, format!("      ✗ not delivered in time: {waiting_for}")),
        SimEvent::PathFinished { path, passed } => {
            line(bar, format!("  {} {path}", if passed { "✓ passed" } else { "✗ FAILED" }))
        }
    }
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "n/a",
    }
}

/// The final table: one block per path, expected and delivered events side by side.
fn table(report: &SimReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out);
    match &report.observation {
        Observation::Bin { page_url, .. } => {
            let _ = writeln!(out, "Deliveries received by the inspector bin {page_url}");
        }
        Observation::DeliveryLog { url } => {
            let _ = writeln!(out, "Deliveries to {url}, read from the delivery log");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<28} {:<36} {:<36} {:<5} {:<10} RESULT",
        "PATH", "EXPECTED EVENTS", "DELIVERED EVENTS", "ORDER", "SIGNATURES"
    );
    for row in &report.paths {
        let lines = row.expected.len().max(row.delivered.len()).max(1);
        for i in 0..lines {
            let cell = |list: &[String]| list.get(i).cloned().unwrap_or_default();
            if i == 0 {
                let mut result = if row.passed { "pass".to_owned() } else { "FAIL".to_owned() };
                if !row.missing.is_empty() {
                    let _ = write!(result, " missing: {}", row.missing.join(", "));
                }
                if !row.unexpected.is_empty() {
                    let _ = write!(result, " unexpected: {}", row.unexpected.join(", "));
                }
                if let Some(problem) = row.signature_problem.as_ref().or(row.error.as_ref()) {
                    let _ = write!(result, " ({problem})");
                }
                let _ = writeln!(
                    out,
                    "{:<28} {:<36} {:<36} {:<5} {:<10} {result}",
                    row.path,
                    cell(&row.expected),
                    cell(&row.delivered),
                    mark(Some(row.order_ok)),
                    mark(row.signatures_ok),
                );
            } else {
                let _ = writeln!(out, "{:<28} {:<36} {}", "", cell(&row.expected), cell(&row.delivered));
            }
        }
    }
    let passed = report.paths.iter().filter(|p| p.passed).count();
    let _ = writeln!(out, "\n{passed} of {} paths passed", report.paths.len());
    out
}
