//! `screenhook import-certify FILE`: a Certify export imported into a company, streamed, with
//! a progress bar, each refused line shown as it is met, and a report at the end. The same
//! import the console's Integrations → Certify transition page runs.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use screenhook_domain::{CompanyId, Millis, certify::export::LineError};
use screenhook_engine::{
    Clock, Engine, EngineConfig, SystemClock, bootstrap,
    certify_import::{ImportObserver, ImportOptions, ImportReport, MAX_REPORTED_REFUSALS, Tally},
};
use screenhook_store::Store;
use tokio::io::BufReader;

use screenhook::app;

use crate::DatabaseArgs;

#[derive(Debug, clap::Args)]
pub struct ImportCertifyArgs {
    /// The Certify export: JSON Lines, one standardized test or certification request per
    /// line (docs/CERTIFY.md). `-` reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
    /// The company the export belongs to.
    #[arg(long, default_value = bootstrap::SANDBOX_COMPANY)]
    company: String,
    /// Check every line and report what would be imported, writing nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Exit status when the import finished but refused some lines (the others are imported).
pub const EXIT_REFUSED: u8 = 2;

pub fn run(args: ImportCertifyArgs) -> anyhow::Result<ExitCode> {
    let config = args.database.config()?;
    if let Some(why) = config.secret_keys()?.missing().filter(|_| !args.dry_run) {
        // Imported sessions carry candidate links, which are stored sealed.
        anyhow::bail!("{why}");
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async {
        let store = app::open_store(&config, false, false).await?;
        let company = CompanyId::parse(&args.company).map_err(|err| anyhow::anyhow!("--company: {err}"))?;
        let report = import_file(store, &config.public_url(), &args.file, company, args.dry_run).await?;
        print!("{}", report_text(&report));
        Ok(if report.refused() > 0 { ExitCode::from(EXIT_REFUSED) } else { ExitCode::SUCCESS })
    })
}

/// Imports `file` (or standard input for `-`) for `company`, showing progress on stderr.
pub async fn import_file(
    store: Arc<dyn Store>,
    public_url: &str,
    file: &std::path::Path,
    company: CompanyId,
    dry_run: bool,
) -> anyhow::Result<ImportReport> {
    if store.company(&company).await?.is_none() {
        bail!("--company: there is no company {company} in this database");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::new(
        store,
        clock,
        EngineConfig { public_url: public_url.to_owned(), integrity_review_delay: Millis::from_millis(0) },
    );
    let options = ImportOptions { company, dry_run };
    let report = if file.as_os_str() == "-" {
        let mut progress = Progress::new(None);
        let report = engine.import_certify(BufReader::new(tokio::io::stdin()), &options, &mut progress).await;
        progress.bar.finish_and_clear();
        report?
    } else {
        let opened =
            tokio::fs::File::open(file).await.with_context(|| format!("opening the export {}", file.display()))?;
        let size = opened.metadata().await.ok().map(|m| m.len());
        let mut progress = Progress::new(size);
        let input = BufReader::with_capacity(256 * 1024, opened);
        let report = engine.import_certify(input, &options, &mut progress).await;
        progress.bar.finish_and_clear();
        report?
    };
    Ok(report)
}

/// The progress bar (bytes of the file) and the refused lines above it.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Hidden when stderr is not a terminal: logs get the refused lines only.
    fn new(bytes: Option<u64>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: ProgressBar::hidden() };
        }
        let bar = ProgressBar::with_draw_target(bytes, ProgressDrawTarget::stderr());
        let template = if bytes.is_some() {
            "{spinner} [{elapsed_precise}] {bar:30} {binary_bytes}/{binary_total_bytes} ({eta}) {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {binary_bytes} read {msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }
}

impl ImportObserver for Progress {
    fn advanced(&mut self, bytes: u64, lines: u64) {
        self.bar.set_position(bytes);
        if lines.is_multiple_of(4096) {
            self.bar.set_message(format!("{lines} lines"));
        }
    }

    fn refused(&mut self, err: &LineError) {
        let text = format!("refused {err}");
        if self.bar.is_hidden() { eprintln!("{text}") } else { self.bar.println(text) }
    }
}

fn tally(name: &str, t: Tally, dry_run: bool) -> String {
    let imported = if dry_run { "would be imported" } else { "imported" };
    format!("  {name:<9} {:>9} {imported}, {:>9} skipped, {:>9} refused\n", t.imported, t.skipped, t.refused)
}

/// The report as text: a line per kind, then what to do next.
pub fn report_text(report: &ImportReport) -> String {
    let mut out = format!(
        "{} {} lines{}:\n",
        if report.dry_run { "Checked" } else { "Imported" },
        report.lines,
        if report.dry_run { " (dry run: nothing was written)" } else { "" }
    );
    out += &tally("tests", report.tests, report.dry_run);
    out += &tally("requests", report.requests, report.dry_run);
    out += &tally("results", report.results, report.dry_run);
    if report.practice_tests > 0 {
        out += &format!("  {} practice tests skipped: they had no certification requests\n", report.practice_tests);
    }
    if report.unreadable > 0 {
        out += &format!("  {} lines refused before their kind could be read\n", report.unreadable);
    }
    if report.changed_nothing() && report.refused() == 0 {
        out += "Nothing to import: every line had been imported before.\n";
    }
    if report.refused() > 0 {
        let shown = report.refusals.len();
        let refused = report.refused();
        out += &if refused == 1 {
            "1 line refused; nothing of it was written".to_owned()
        } else {
            format!("{refused} lines refused; nothing of them was written")
        };
        if report.refused() as usize > shown {
            out += &format!(" (the first {MAX_REPORTED_REFUSALS} follow; all were shown as they were met):\n");
        } else {
            out += ":\n";
        }
        for err in &report.refusals {
            out += &format!("  {err}\n");
        }
        out += "Fix those lines and run the import again: the lines imported now are skipped.\n";
    }
    if !report.dry_run && report.requests.imported + report.tests.imported > 0 {
        out += "No webhooks were sent for imported history.\n";
    }
    out
}
