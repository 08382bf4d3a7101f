//! Importing a Certify export ([`Engine::import_certify`]): the file is streamed line by line,
//! each line is decided by `screenhook_domain::certify::import`, and the lines are written in
//! batches through `Store::import_certify`, each whole or not at all, with no events.
//!
//! - **Bounded memory.** One line is read at a time (at most [`MAX_LINE_BYTES`]), at most
//!   [`BATCH_LINES`] decided lines wait for their write, and the tests seen so far (a company
//!   has a handful) are kept to decide the requests that follow them.
//! - **Idempotent and resumable.** The store keeps which old id became which new one, so a
//!   line imported before is skipped and says so; an import stopped half way (interrupted, or
//!   a database failure) is finished by running it again.
//! - **Order.** A request's test must come before it in the file, or in an earlier import.

use std::collections::HashMap;

use screenhook_domain::{
    CompanyId, CompanyTest, StandardizedTestId, Timestamp,
    certify::{
        export::{self, CertificationRequest, ExportLine, LineError, LineKind, StandardizedTest, TestType},
        import::{self, FreshSession},
    },
};
use screenhook_store::{CertifyImported, CertifyRecord, StoreError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::{
    Engine, EngineError,
    commands::{candidate_token, new_session_id, new_test_id, new_token},
};

/// Lines decided before they are written together (one transaction, a savepoint each).
pub const BATCH_LINES: usize = 512;
/// The longest line read; a longer one is refused (a request holds at most
/// `export::MAX_RESULTS` results, far below this).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Refused lines kept in the report; the rest are counted (and were shown as they happened).
pub const MAX_REPORTED_REFUSALS: usize = 100;

/// Why an import stopped. The lines of the batches written before stay; running the same
/// import again skips them and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the export failed after line {line}: {source}")]
    Read { line: u64, source: std::io::Error },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ImportError {
    fn from(err: StoreError) -> Self {
        ImportError::Engine(err.into())
    }
}

/// What an import is asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub company: CompanyId,
    /// Decide and report every line, write nothing.
    pub dry_run: bool,
}

/// Lines of one kind: written, skipped (imported before; for tests also practice tests,
/// which had no requests), refused (with their errors in the report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub imported: u64,
    pub skipped: u64,
    pub refused: u64,
}

/// The end of an import: what each kind of line did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Standardized tests.
    pub tests: Tally,
    /// Of the skipped tests, the practice ones.
    pub practice_tests: u64,
    /// Certification requests.
    pub requests: Tally,
    /// Results of the requests, counted with their request.
    pub results: Tally,
    /// Lines that were not JSON or not a known kind, with no kind to count them under.
    pub unreadable: u64,
    /// The first [`MAX_REPORTED_REFUSALS`] refused lines.
    pub refusals: Vec<LineError>,
}

impl ImportReport {
    /// Every refused line, of every kind.
    pub fn refused(&self) -> u64 {
        self.tests.refused + self.requests.refused + self.unreadable
    }

    /// Whether the import wrote (or, in a dry run, would write) nothing.
    pub fn changed_nothing(&self) -> bool {
        self.tests.imported == 0 && self.requests.imported == 0
    }

    fn refuse(&mut self, err: LineError, observer: &mut dyn ImportObserver) {
        observer.refused(&err);
        if self.refusals.len() < MAX_REPORTED_REFUSALS {
            self.refusals.push(err);
        }
    }
}

/// Follows an import as it goes: a progress bar, a log of refused lines.
pub trait ImportObserver: Send {
    /// `bytes` of the input have been read (and `lines` lines).
    fn advanced(&mut self, _bytes: u64, _lines: u64) {}
    /// A line was refused; nothing of it is written.
    fn refused(&mut self, _err: &LineError) {}
}

/// Observes nothing.
impl ImportObserver for () {}

/// A decided request waiting for its batch's write.
struct PendingRequest {
    line: u64,
    results: u64,
    record: CertifyRecord,
}

/// One import's state between lines.
struct Importer<'a> {
    engine: &'a Engine,
    options: &'a ImportOptions,
    now: Timestamp,
    /// Tests of this company met so far: `None` for a practice test.
    tests: HashMap<StandardizedTestId, Option<CompanyTest>>,
    batch: Vec<PendingRequest>,
    report: ImportReport,
}

impl Engine {
    /// Imports a Certify export for a company (see the module docs).
    pub async fn import_certify<R: AsyncBufRead + Unpin + Send>(
        &self,
        mut input: R,
        options: &ImportOptions,
        observer: &mut dyn ImportObserver,
    ) -> Result<ImportReport, ImportError> {
        let now = self.company_now(&options.company).await?;
        let mut importer = Importer {
            engine: self,
            options,
            now,
            tests: HashMap::new(),
            batch: Vec::with_capacity(BATCH_LINES),
            report: ImportReport { dry_run: options.dry_run, ..ImportReport::default() },
        };
        let mut buf = Vec::new();
        let mut bytes = 0u64;
        loop {
            buf.clear();
            let read = read_line(&mut input, &mut buf)
                .await
                .map_err(|source| ImportError::Read { line: importer.report.lines, source })?;
            let Some(read) = read else { break };
            bytes += read.bytes;
            importer.report.lines += 1;
            let line = importer.report.lines;
            if read.truncated {
                let err = LineError::new(
                    line,
                    None,
                    format!("is longer than {MAX_LINE_BYTES} bytes"),
                    format!("one JSON object of at most {MAX_LINE_BYTES} bytes per line"),
                );
                importer.report.unreadable += 1;
                importer.report.refuse(err, observer);
            } else {
                importer.line(line, &buf, observer).await?;
            }
            if importer.batch.len() >= BATCH_LINES {
                importer.flush(observer).await?;
            }
            observer.advanced(bytes, line);
        }
        importer.flush(observer).await?;
        Ok(importer.report)
    }
}

impl Importer<'_> {
    async fn line(&mut self, line: u64, raw: &[u8], observer: &mut dyn ImportObserver) -> Result<(), ImportError> {
        let text = match std::str::from_utf8(raw) {
            Ok(text) => text.trim_end_matches(['\n', '\r']),
            Err(err) => {
                self.report.unreadable += 1;
                let problem = format!("is not UTF-8 (byte {})", err.valid_up_to() + 1);
                self.report.refuse(LineError::new(line, None, problem, "UTF-8 text"), observer);
                return Ok(());
            }
        };
        if text.trim().is_empty() {
            return Ok(());
        }
        match export::parse_line(line, text) {
            Ok(ExportLine::StandardizedTest(test)) => self.test(line, test, observer).await,
            Ok(ExportLine::CertificationRequest(request)) => self.request(line, &request, observer).await,
            Err(err) => {
                // The kind decides where a refusal counts; a line without one is unreadable.
                match export::line_kind(text) {
                    Some((LineKind::StandardizedTest, _)) => {
                        self.report.tests.refused += 1;
                        self.report.refuse(err, observer);
                    }
                    Some((LineKind::CertificationRequest, results)) => {
                        self.refuse_request(err, results as u64, observer)
                    }
                    None => {
                        self.report.unreadable += 1;
                        self.report.refuse(err, observer);
                    }
                }
                Ok(())
            }
        }
    }

    /// A test is written at once (after the requests before it), so the requests after it
    /// can refer to what it became.
    async fn test(
        &mut self,
        line: u64,
        standardized: StandardizedTest,
        observer: &mut dyn ImportObserver,
    ) -> Result<(), ImportError> {
        if standardized.test_type == TestType::Practice {
            self.tests.insert(standardized.id, None);
            self.report.tests.skipped += 1;
            self.report.practice_tests += 1;
            return Ok(());
        }
        if let Some(existing) = self.imported_test(&standardized.id).await? {
            self.tests.insert(standardized.id, Some(existing));
            self.report.tests.skipped += 1;
            return Ok(());
        }
        let company = &self.options.company;
        let test = match import::migrated_test(line, &standardized, new_test_id(), company, self.now) {
            Ok(test) => test.expect("a certification test is migrated"),
            Err(err) => {
                self.report.tests.refused += 1;
                self.report.refuse(err, observer);
                return Ok(());
            }
        };
        if self.options.dry_run {
            self.report.tests.imported += 1;
            self.tests.insert(standardized.id, Some(test));
            return Ok(());
        }
        self.flush(observer).await?;
        let record = CertifyRecord::Test { old_id: standardized.id.clone(), test: Box::new(test.clone()) };
        let outcome = self.engine.store.import_certify(vec![record]).await?.pop().expect("one outcome per record");
        match outcome {
            Ok(CertifyImported::Written) => {
                self.report.tests.imported += 1;
                self.tests.insert(standardized.id, Some(test));
            }
            // Imported by a concurrent import since the lookup above.
            Ok(_) => {
                self.report.tests.skipped += 1;
                let existing = self.imported_test(&standardized.id).await?;
                self.tests.insert(standardized.id, existing);
            }
            Err(err) => {
                self.report.tests.refused += 1;
                self.report.refuse(unwritable(line, &err), observer);
            }
        }
        Ok(())
    }

    async fn request(
        &mut self,
        line: u64,
        request: &CertificationRequest,
        observer: &mut dyn ImportObserver,
    ) -> Result<(), ImportError> {
        let results = request.results.len() as u64;
        let test = match self.tests.get(&request.test_id) {
            Some(known) => known.clone(),
            None => {
                let imported = self.imported_test(&request.test_id).await?;
                if let Some(test) = &imported {
                    self.tests.insert(request.test_id.clone(), Some(test.clone()));
                }
                match imported {
                    Some(test) => Some(test),
                    None => {
                        let problem = format!(
                            "{:?} is no standardized test of this export (before this line) or of an earlier import",
                            request.test_id.as_str()
                        );
                        let allowed = "the id of a standardizedTest line that comes before the request";
                        self.refuse_request(
                            LineError::new(line, Some("testId".into()), problem, allowed),
                            results,
                            observer,
                        );
                        return Ok(());
                    }
                }
            }
        };
        let Some(test) = test else {
            let problem =
                format!("{:?} is a practice test, which had no certification requests", request.test_id.as_str());
            let allowed = "the id of a certification standardizedTest";
            self.refuse_request(LineError::new(line, Some("testId".into()), problem, allowed), results, observer);
            return Ok(());
        };
        if self.options.dry_run
            && self.engine.store.certify_request(&self.options.company, &request.id).await?.is_some()
        {
            self.report.requests.skipped += 1;
            self.report.results.skipped += results;
            return Ok(());
        }
        let sessions = match import::migrated_request(line, request, &test, fresh_session, self.now) {
            Ok(sessions) => sessions,
            Err(err) => {
                self.refuse_request(err, results, observer);
                return Ok(());
            }
        };
        if self.options.dry_run {
            self.report.requests.imported += 1;
            self.report.results.imported += results;
            return Ok(());
        }
        let record = CertifyRecord::Request { old_id: request.id.clone(), sessions };
        self.batch.push(PendingRequest { line, results, record });
        Ok(())
    }

    fn refuse_request(&mut self, err: LineError, results: u64, observer: &mut dyn ImportObserver) {
        self.report.requests.refused += 1;
        self.report.results.refused += results;
        self.report.refuse(err, observer);
    }

    /// Writes the waiting requests, each whole or not at all.
    async fn flush(&mut self, observer: &mut dyn ImportObserver) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let (meta, records): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| ((p.line, p.results), p.record)).unzip();
        let outcomes = self.engine.store.import_certify(records).await?;
        for ((line, results), outcome) in meta.into_iter().zip(outcomes) {
            match outcome {
                Ok(CertifyImported::Written) => {
                    self.report.requests.imported += 1;
                    self.report.results.imported += results;
                }
                Ok(_) => {
                    self.report.requests.skipped += 1;
                    self.report.results.skipped += results;
                }
                Err(err) => self.refuse_request(unwritable(line, &err), results, observer),
            }
        }
        self.batch = Vec::with_capacity(BATCH_LINES);
        Ok(())
    }

    /// The test an earlier import made of `old`, if it still exists.
    async fn imported_test(&self, old: &StandardizedTestId) -> Result<Option<CompanyTest>, ImportError> {
        let company = &self.options.company;
        match self.engine.store.certify_test(company, old).await? {
            Some(id) => Ok(self.engine.store.test(company, &id).await?),
            None => Ok(None),
        }
    }
}

fn fresh_session() -> FreshSession {
    let session_id = new_session_id();
    FreshSession { candidate_token: candidate_token(&session_id), session_id, report_token: new_token() }
}

/// A line the store could not write (an id collision, a malformed record): nothing of it was.
fn unwritable(line: u64, err: &StoreError) -> LineError {
    LineError::new(line, None, format!("could not be written: {err}"), "a line that imports whole")
}

/// One line read: its bytes (the line break included) and whether it was cut at
/// [`MAX_LINE_BYTES`] (its rest was skipped).
struct ReadLine {
    bytes: u64,
    truncated: bool,
}

/// Reads one line into `buf`, at most [`MAX_LINE_BYTES`] of it; `None` at the end.
async fn read_line<R: AsyncBufRead + Unpin>(input: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<ReadLine>> {
    let read = (&mut *input).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', buf).await?;
    if read == 0 {
        return Ok(None);
    }
    let mut line = ReadLine { bytes: read as u64, truncated: false };
    if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
        line.truncated = true;
        // Skip the rest of the line without keeping it.
        loop {
            let chunk = input.fill_buf().await?;
            if chunk.is_empty() {
                break;
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    input.consume(at + 1);
                    line.bytes += at as u64 + 1;
                    break;
                }
                None => {
                    let len = chunk.len();
                    input.consume(len);
                    line.bytes += len as u64;
                }
            }
        }
    }
    Ok(Some(line))
}
