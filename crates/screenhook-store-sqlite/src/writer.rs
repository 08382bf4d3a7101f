//! The single writer: a thread that batches every waiting job into one durable commit.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use screenhook_domain::{
    ApiKey, Change, Company, CompanyId, CompanyTest, CompanyTestSession, DomainEvent, Expected, LiveInterview,
    Timestamp,
};
use screenhook_store::{
    Applied, CertifyImported, CertifyRecord, ClaimedDelivery, Handoff, RESEAL_BATCH, SecretKeys, StoreError,
    StoredEvent, conflict, new_event_id,
    rows::{DocumentRow, EventRow, InterviewRow, RowKey, SessionRow, TestRow, TimerRow, to_doc},
};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::{Failure, is_unique_violation};

/// The most jobs committed together. Larger batches amortise the fsync further but make
/// the callers at the front of the batch wait longer.
pub const MAX_BATCH: usize = 256;

/// One write: runs inside the batch transaction, in its own savepoint, and yields the reply
/// to send once the batch is durable.
pub(crate) type RunJob = Box<dyn FnOnce(&Connection) -> Box<dyn Completion> + Send>;

/// What the writer is asked to do.
pub(crate) enum WriteJob {
    /// A lifecycle change: batched with the other changes waiting (see `batch`).
    Apply(Change, oneshot::Sender<Result<Applied, StoreError>>),
    /// Any other write, run on its own.
    Run(RunJob),
}

/// A job's result, held until its batch commits (or fails as a whole).
pub(crate) trait Completion: Send {
    fn succeeded(&self) -> bool;
    /// The job may have made deliveries due, so delivery workers should look.
    fn wakes_workers(&self) -> bool;
    /// The batch did not commit: whatever the job did, it failed.
    fn fail(self: Box<Self>, message: &str) -> Box<dyn Completion>;
    fn send(self: Box<Self>);
}

pub(crate) struct Reply<T> {
    pub(crate) to: oneshot::Sender<Result<T, StoreError>>,
    pub(crate) result: Result<T, StoreError>,
    pub(crate) wakes: bool,
}

impl<T: Send + 'static> Completion for Reply<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn wakes_workers(&self) -> bool {
        self.wakes && self.result.is_ok()
    }

    fn fail(self: Box<Self>, message: &str) -> Box<dyn Completion> {
        let result = match self.result {
            Ok(_) => Err(StoreError::Unavailable(message.to_owned())),
            failed => failed,
        };
        Box::new(Reply { to: self.to, result, wakes: false })
    }

    fn send(self: Box<Self>) {
        // A caller that gave up waiting is not an error of the store.
        let _ = self.to.send(self.result);
    }
}

/// The writer thread's loop: until every sender is gone, take what waits and commit it.
pub(crate) fn run(conn: Connection, mut jobs: mpsc::Receiver<WriteJob>, work: Arc<Notify>, handoff: Arc<Handoff>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut leased = Vec::new();
        let lease_until = handoff.lease_until();
        // Changes written by the fast path with a worker listening hand their deliveries over;
        // without one, or on the change-by-change path, they leave work to claim. Other writes
        // say for themselves: a claim must not wake the workers, or idle workers claim forever.
        let mut claimable = lease_until.is_none() && batch.iter().any(|job| matches!(job, WriteJob::Apply(..)));
        let completions = commit_batch(&conn, batch.drain(..), lease_until, &mut leased, &mut claimable);
        if completions.iter().any(|c| c.succeeded()) {
            // Only what committed is handed over.
            handoff.send(leased);
            if claimable || completions.iter().any(|c| c.wakes_workers()) {
                // Stores a permit when no worker is waiting, so the signal is never lost.
                work.notify_one();
            }
        }
        completions.into_iter().for_each(|c| c.send());
    }
}

fn commit_batch(
    conn: &Connection,
    batch: impl Iterator<Item = WriteJob>,
    lease_until: Option<Timestamp>,
    leased: &mut Vec<ClaimedDelivery>,
    claimable: &mut bool,
) -> Vec<Box<dyn Completion>> {
    let mut changes = Vec::new();
    let mut replies = Vec::new();
    let mut runs = Vec::new();
    for job in batch {
        match job {
            WriteJob::Apply(change, reply) => {
                changes.push(change);
                replies.push(reply);
            }
            WriteJob::Run(run) => runs.push(run),
        }
    }
    let mut done: Vec<Box<dyn Completion>> = Vec::with_capacity(replies.len() + runs.len());
    if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = format!("could not start a write transaction: {err}");
        for reply in replies {
            let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
        }
        // Dropping the other jobs tells their callers the write was abandoned.
        tracing::warn!(%message, "a batch of writes was not attempted");
        return done;
    }
    let written = apply_changes(conn, changes, replies, &mut done, lease_until, leased, claimable)
        .and_then(|()| runs.into_iter().try_for_each(|run| in_savepoint(conn, run, &mut done)))
        .and_then(|()| conn.execute_batch("COMMIT").map_err(|err| format!("commit failed: {err}")));
    match written {
        Ok(()) => done,
        Err(message) => {
            leased.clear();
            // Whatever state the transaction is in, none of it may stay.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            tracing::warn!(%message, "a batch of writes was abandoned");
            done.into_iter().map(|c| c.fail(&message)).collect()
        }
    }
}

/// The batch's changes: all at once when possible, else one by one in savepoints. `Err` means
/// the transaction is in an unknown state and must not commit.
fn apply_changes(
    conn: &Connection,
    changes: Vec<Change>,
    replies: Vec<oneshot::Sender<Result<Applied, StoreError>>>,
    done: &mut Vec<Box<dyn Completion>>,
    lease_until: Option<Timestamp>,
    leased: &mut Vec<ClaimedDelivery>,
    claimable: &mut bool,
) -> Result<(), String> {
    if changes.is_empty() {
        return Ok(());
    }
    conn.execute_batch("SAVEPOINT batch").map_err(|err| format!("could not open a savepoint: {err}"))?;
    match crate::batch::apply_batch(conn, &changes, lease_until, leased) {
        Ok(results) => {
            conn.execute_batch("RELEASE batch").map_err(|err| format!("could not close a savepoint: {err}"))?;
            for (reply, result) in replies.into_iter().zip(results) {
                done.push(Box::new(Reply { to: reply, result, wakes: false }));
            }
            return Ok(());
        }
        Err(err) => {
            // The change-by-change path hands nothing over: its deliveries are claimed.
            leased.clear();
            *claimable = true;
            tracing::debug!(%err, "batched apply failed; applying change by change");
            conn.execute_batch("ROLLBACK TO batch; RELEASE batch")
                .map_err(|err| format!("could not roll a savepoint back: {err}"))?;
        }
    }
    for (change, reply) in changes.into_iter().zip(replies) {
        let run: RunJob = Box::new(move |conn| {
            let result = apply(conn, change).map_err(StoreError::from);
            Box::new(Reply { to: reply, result, wakes: false }) as Box<dyn Completion>
        });
        in_savepoint(conn, run, done)?;
    }
    Ok(())
}

/// Runs one job inside its own savepoint, so a failed job is undone alone.
fn in_savepoint(conn: &Connection, run: RunJob, done: &mut Vec<Box<dyn Completion>>) -> Result<(), String> {
    conn.execute_batch("SAVEPOINT job").map_err(|err| format!("could not open a savepoint: {err}"))?;
    let completion = run(conn);
    let close = if completion.succeeded() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    done.push(completion);
    conn.execute_batch(close).map_err(|err| format!("could not close a savepoint: {err}"))
}

pub(crate) fn insert_company(conn: &Connection, company: &Company) -> Result<(), Failure> {
    let row = DocumentRow::company(company)?;
    let res = conn.prepare_cached("INSERT INTO companies (id, created_at, doc) VALUES (?1, ?2, ?3)")?.execute(params![
        row.id,
        row.created_at,
        row.doc
    ]);
    match res {
        Err(err) if is_unique_violation(&err) => {
            Err(StoreError::Duplicate { what: format!("company {}", company.id) }.into())
        }
        other => other.map(drop).map_err(Failure::from),
    }
}

pub(crate) fn update_company(conn: &Connection, company: &Company) -> Result<(), Failure> {
    let row = DocumentRow::company(company)?;
    let updated =
        conn.prepare_cached("UPDATE companies SET doc = ?2 WHERE id = ?1")?.execute(params![row.id, row.doc])?;
    expect_one_row(updated, "company", row.id, "an existing company")
}

pub(crate) fn insert_api_key(conn: &Connection, key: &ApiKey) -> Result<(), Failure> {
    let row = DocumentRow::api_key(key)?;
    let res = conn
        .prepare_cached("INSERT INTO api_keys (public_id, company_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![row.id, row.company_id, row.created_at, row.doc]);
    match res {
        Err(err) if is_unique_violation(&err) => {
            Err(StoreError::Duplicate { what: format!("API key {}", key.public_id) }.into())
        }
        other => other.map(drop).map_err(Failure::from),
    }
}

pub(crate) fn revoke_api_key(
    conn: &Connection,
    company: &CompanyId,
    public_id: &str,
    at: Timestamp,
) -> Result<bool, Failure> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM api_keys WHERE public_id = ?1 AND company_id = ?2")?
        .query_row(params![public_id, company.as_str()], |row| row.get(0))
        .optional()?;
    let Some(doc) = doc else { return Ok(false) };
    let mut key: ApiKey = serde_json::from_str(&doc).map_err(crate::corrupt)?;
    if key.revoked_at.is_some() {
        return Ok(false);
    }
    key.revoked_at = Some(at);
    let row = DocumentRow::api_key(&key)?;
    conn.prepare_cached("UPDATE api_keys SET doc = ?2 WHERE public_id = ?1")?.execute(params![row.id, row.doc])?;
    Ok(true)
}

/// Applies one change on its own: the path taken when the batched one could not be.
pub(crate) fn apply(conn: &Connection, change: Change) -> Result<Applied, Failure> {
    for guard in &change.guards {
        let version: Option<i64> = conn
            .prepare_cached("SELECT version FROM tests WHERE id = ?1 AND company_id = ?2")?
            .query_row(params![guard.test_id.as_str(), guard.company_id.as_str()], |row| row.get(0))
            .optional()?;
        if version != Some(guard.version as i64) {
            return Err(conflict("test", guard.test_id.as_str(), Expected::Version(guard.version)).into());
        }
    }
    for (test, expected) in &change.tests {
        write_test(conn, test, *expected)?;
    }
    for (session, expected) in &change.sessions {
        write_session(conn, session, *expected)?;
        write_timer(conn, session, *expected)?;
    }
    for (interview, expected) in &change.interviews {
        write_interview(conn, interview, *expected)?;
    }
    let mut events = Vec::with_capacity(change.events.len());
    for event in change.events {
        events.push(insert_event(conn, event)?);
    }
    Ok(Applied { events })
}

fn expect_one_row(updated: usize, aggregate: &'static str, id: &str, expected: &str) -> Result<(), Failure> {
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { aggregate, id: id.to_owned(), expected: expected.to_owned() }.into())
    }
}

/// Maps a failed INSERT: a taken primary key means the aggregate already exists.
fn insert_error(err: rusqlite::Error, key: &RowKey<'_>) -> Failure {
    if is_unique_violation(&err) { key.conflict(Expected::New).into() } else { err.into() }
}

/// Writes a versioned aggregate's row after checking its version: `insert` when it is new,
/// else `update`, whose one parameter after `values` is the version the row must still have.
fn write_row(
    conn: &Connection,
    key: RowKey<'_>,
    expected: Expected,
    insert: (&str, &[&dyn ToSql]),
    update: (&str, &[&dyn ToSql]),
) -> Result<(), Failure> {
    key.check(expected)?;
    match expected {
        Expected::New => {
            let (sql, values) = insert;
            conn.prepare_cached(sql)?.execute(values).map(drop).map_err(|err| insert_error(err, &key))
        }
        Expected::Version(old) => {
            let (sql, values) = update;
            let old = old as i64;
            let values: Vec<&dyn ToSql> = values.iter().copied().chain([&old as &dyn ToSql]).collect();
            let updated = conn.prepare_cached(sql)?.execute(values.as_slice())?;
            Ok(key.updated(updated as u64, expected)?)
        }
    }
}

pub(crate) fn write_test(conn: &Connection, test: &CompanyTest, expected: Expected) -> Result<(), Failure> {
    const INSERT: &str = "INSERT INTO tests (id, company_id, version, title, status, framework_id, create_date, doc) \
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    const UPDATE: &str = "UPDATE tests SET version = ?3, title = ?4, status = ?5, doc = ?6 \
                          WHERE id = ?1 AND company_id = ?2 AND version = ?7";
    let row = TestRow::of(test)?;
    let RowKey { id, company_id, version, .. } = row.key;
    let insert = params![id, company_id, version, row.title, row.status, row.framework_id, row.create_date, row.doc];
    let update = params![id, company_id, version, row.title, row.status, row.doc];
    write_row(conn, row.key, expected, (INSERT, insert), (UPDATE, update))
}

fn write_session(conn: &Connection, session: &CompanyTestSession, expected: Expected) -> Result<(), Failure> {
    const INSERT: &str = "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, \
                          framework_id, create_date, finish_date, greenhouse_candidate_id, greenhouse_application_id, \
                          verification_status, doc) \
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
    const UPDATE: &str = "UPDATE sessions SET version = ?3, status = ?4, finish_date = ?5, verification_status = ?6, \
                          doc = ?7 WHERE id = ?1 AND company_id = ?2 AND version = ?8";
    let row = SessionRow::of(session)?;
    let RowKey { id, company_id, version, .. } = row.key;
    let insert = params![
        id,
        company_id,
        row.test_id,
        version,
        row.status,
        row.candidate_email,
        row.framework_id,
        row.create_date,
        row.finish_date,
        row.greenhouse_candidate_id,
        row.greenhouse_application_id,
        row.verification_status,
        row.doc,
    ];
    let update = params![id, company_id, version, row.status, row.finish_date, row.verification_status, row.doc];
    write_row(conn, row.key, expected, (INSERT, insert), (UPDATE, update))
}

/// The next sessions after `after` (by id) whose document lacks `marker`: those whose tokens
/// are not sealed under the current key (see [`SecretKeys::current_session_marker`]).
pub(crate) fn stale_sessions(conn: &Connection, marker: &str, after: &str) -> Result<Vec<String>, Failure> {
    let mut statement =
        conn.prepare_cached("SELECT id FROM sessions WHERE id > ?1 AND instr(doc, ?2) = 0 ORDER BY id LIMIT ?3")?;
    let ids = statement.query_map(params![after, marker, RESEAL_BATCH], |row| row.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// Seals the tokens of these sessions under the current key, checked again here, in the one
/// writer, so a session written since the scan is left as it now is. The version stays: the
/// session did not change, only how its tokens are kept.
pub(crate) fn reseal_sessions(conn: &Connection, keys: &SecretKeys, ids: &[String]) -> Result<u64, Failure> {
    let mut resealed = 0;
    for id in ids {
        let doc: Option<String> = conn
            .prepare_cached("SELECT doc FROM sessions WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        let Some(doc) = doc else { continue };
        let stored =
            serde_json::from_str(&doc).map_err(|err| StoreError::Corrupt(format!("test session {id}: {err}")))?;
        if let Some(session) = keys.reseal_session(stored)? {
            conn.prepare_cached("UPDATE sessions SET doc = ?2 WHERE id = ?1")?
                .execute(params![id, to_doc(&session)?])?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

/// Rewrites the session's timer from its new state, in the same transaction.
fn write_timer(conn: &Connection, session: &CompanyTestSession, expected: Expected) -> Result<(), Failure> {
    match TimerRow::of(session) {
        Some(timer) => conn
            .prepare_cached(
                "INSERT INTO timers (session_id, company_id, kind, due_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at",
            )?
            .execute(params![timer.session_id, timer.company_id, timer.kind, timer.due_at])?,
        None if expected == Expected::New => return Ok(()),
        None => conn.prepare_cached("DELETE FROM timers WHERE session_id = ?1")?.execute([session.id.as_str()])?,
    };
    Ok(())
}

pub(crate) fn write_interview(conn: &Connection, interview: &LiveInterview, expected: Expected) -> Result<(), Failure> {
    const INSERT: &str = "INSERT INTO interviews (id, company_id, version, doc) VALUES (?1, ?2, ?3, ?4)";
    const UPDATE: &str =
        "UPDATE interviews SET version = ?3, doc = ?4 WHERE id = ?1 AND company_id = ?2 AND version = ?5";
    let InterviewRow { key, doc } = InterviewRow::of(interview)?;
    let values = params![key.id, key.company_id, key.version, doc];
    write_row(conn, key, expected, (INSERT, values), (UPDATE, values))
}

fn insert_event(conn: &Connection, event: DomainEvent) -> Result<StoredEvent, Failure> {
    let id = new_event_id();
    let row = EventRow::of(&id, &event);
    conn.prepare_cached(
        "INSERT INTO events (id, company_id, session_id, test_id, kind, triggered_on, payload) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.id,
        row.company_id,
        row.session_id,
        row.test_id,
        row.kind,
        row.triggered_on,
        row.payload
    ])?;
    let stored = StoredEvent {
        seq: conn.last_insert_rowid(),
        id,
        kind: event.kind,
        triggered_on: event.triggered_on,
        company_id: event.company_id,
        session_id: event.session_id,
        test_id: event.test_id,
        payload: event.payload,
    };
    // The deliveries are written in the same transaction as the event: no dual write.
    let order_key = match (&stored.session_id, &stored.test_id) {
        (Some(session), _) => session.to_string(),
        (None, Some(test)) => format!("test:{test}"),
        (None, None) => format!("event:{}", stored.id),
    };
    crate::delivery::fan_out(conn, &stored, &order_key)?;
    Ok(stored)
}

/// Writes Certify records, each in its own savepoint (see `Store::import_certify`).
pub(crate) fn import_certify(
    conn: &Connection,
    records: Vec<CertifyRecord>,
) -> Result<Vec<Result<CertifyImported, StoreError>>, Failure> {
    records
        .iter()
        .map(|record| match record.as_change() {
            Ok(change) => import_record(conn, record, change),
            Err(err) => Ok(Err(err)),
        })
        .collect()
}

/// One Certify record and its entry in `certify_ids`, or nothing when the entry exists.
fn import_record(
    conn: &Connection,
    record: &CertifyRecord,
    change: Change,
) -> Result<Result<CertifyImported, StoreError>, Failure> {
    let company = record.company().expect("a record with a change has a company");
    let (kind, old_id, new_id) = record.id_entry();
    conn.execute_batch("SAVEPOINT record")?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO certify_ids (company_id, kind, old_id, new_id) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![company.as_str(), kind, old_id, new_id])?;
    let outcome = if inserted == 0 {
        let existing: String = conn
            .prepare_cached("SELECT new_id FROM certify_ids WHERE company_id = ?1 AND kind = ?2 AND old_id = ?3")?
            .query_row(params![company.as_str(), kind, old_id], |row| row.get(0))?;
        record.existed(existing)
    } else {
        match apply(conn, change) {
            Ok(_) => Ok(CertifyImported::Written),
            Err(Failure::Store(err)) => Err(err),
            // The job's own savepoint, around all the records, is rolled back.
            Err(sql) => return Err(sql),
        }
    };
    let close = if outcome.is_ok() { "RELEASE record" } else { "ROLLBACK TO record; RELEASE record" };
    conn.execute_batch(close)?;
    Ok(outcome)
}
