//! The single writer: batches every waiting change into one durable commit.

use std::{future::Future, pin::Pin, sync::Arc};

use screenhook_domain::{
    ApiKey, Change, Company, CompanyId, CompanyTest, CompanyTestSession, DomainEvent, Expected, LiveInterview, Millis,
    Timestamp,
};
use screenhook_store::{Applied, ClaimedDelivery, StoreError, StoredEvent, new_event_id};
use sqlx::{Connection, SqliteConnection, sqlite::SqliteQueryResult};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::unavailable;

/// The most changes committed together. Larger batches amortise the fsync further but make
/// the callers at the front of the batch wait longer.
pub const MAX_BATCH: usize = 256;

/// One write: runs inside the batch transaction, in its own savepoint, and yields the reply
/// to send once the batch is durable.
pub(crate) type RunJob = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> Pin<Box<dyn Future<Output = Box<dyn Completion>> + Send + 'c>>
        + Send,
>;

/// What the writer task is asked to do.
pub(crate) enum WriteJob {
    /// A lifecycle change: batched with the other changes waiting (see `batch`).
    Apply(Change, oneshot::Sender<Result<Applied, StoreError>>),
    /// Any other write, run on its own.
    Run(RunJob),
}

/// A job's result, held until its batch commits (or fails as a whole).
pub(crate) trait Completion: Send {
    fn succeeded(&self) -> bool;
    /// The batch did not commit: whatever the job did, it failed.
    fn fail(self: Box<Self>, message: &str) -> Box<dyn Completion>;
    fn send(self: Box<Self>);
}

pub(crate) struct Reply<T> {
    pub(crate) to: oneshot::Sender<Result<T, StoreError>>,
    pub(crate) result: Result<T, StoreError>,
}

impl<T: Send + 'static> Completion for Reply<T> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn fail(self: Box<Self>, message: &str) -> Box<dyn Completion> {
        let result = match self.result {
            Ok(_) => Err(StoreError::Unavailable(message.to_owned())),
            failed => failed,
        };
        Box::new(Reply { to: self.to, result })
    }

    fn send(self: Box<Self>) {
        // A caller that gave up waiting is not an error of the store.
        let _ = self.to.send(self.result);
    }
}

/// Where freshly fanned-out deliveries go when a local worker asked for them.
#[derive(Default)]
pub(crate) struct Handoff(std::sync::Mutex<Option<(mpsc::UnboundedSender<Vec<ClaimedDelivery>>, Millis)>>);

impl Handoff {
    pub(crate) fn register(&self, lease: Millis) -> mpsc::UnboundedReceiver<Vec<ClaimedDelivery>> {
        let (to, from) = mpsc::unbounded_channel();
        *self.0.lock().expect("not poisoned") = Some((to, lease));
        from
    }

    /// The lease to write into fresh deliveries, when a worker listens.
    pub(crate) fn lease(&self) -> Option<Millis> {
        let handoff = self.0.lock().expect("not poisoned");
        handoff.as_ref().filter(|(to, _)| !to.is_closed()).map(|(_, lease)| *lease)
    }

    fn send(&self, deliveries: Vec<ClaimedDelivery>) {
        if deliveries.is_empty() {
            return;
        }
        if let Some((to, _)) = self.0.lock().expect("not poisoned").as_ref() {
            // A worker that went away leaves them leased; claims take them back later.
            let _ = to.send(deliveries);
        }
    }
}

pub(crate) async fn run(
    mut conn: SqliteConnection,
    mut jobs: mpsc::Receiver<WriteJob>,
    work: Arc<Notify>,
    handoff: Arc<Handoff>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut leased = Vec::new();
        let lease = handoff.lease();
        // Changes written by the fast path with a worker listening hand their deliveries over;
        // anything else (other writes, the change-by-change path) may leave work to claim.
        let mut claimable = lease.is_none() || batch.iter().any(|job| matches!(job, WriteJob::Run(_)));
        let completions = commit_batch(&mut conn, batch.drain(..), lease, &mut leased, &mut claimable).await;
        if completions.iter().any(|c| c.succeeded()) {
            // Only what committed is handed over.
            handoff.send(leased);
            if claimable {
                // Stores a permit when no worker is waiting, so the signal is never lost.
                work.notify_one();
            }
        }
        completions.into_iter().for_each(|c| c.send());
    }
}

async fn commit_batch(
    conn: &mut SqliteConnection,
    batch: impl Iterator<Item = WriteJob>,
    lease: Option<Millis>,
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
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(err) => {
            let message = format!("could not start a write transaction: {err}");
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
            }
            // Dropping the other jobs tells their callers the write was abandoned.
            tracing::warn!(%message, "a batch of writes was not attempted");
            return done;
        }
    };
    if let Err(message) = apply_changes(&mut tx, changes, replies, &mut done, lease, leased, claimable).await {
        leased.clear();
        drop(tx);
        tracing::warn!(%message, "a batch of writes was abandoned");
        return done.into_iter().map(|c| c.fail(&message)).collect();
    }
    for run in runs {
        if let Err(message) = in_savepoint(&mut tx, run, &mut done).await {
            drop(tx);
            tracing::warn!(%message, "a batch of writes was abandoned");
            return done.into_iter().map(|c| c.fail(&message)).collect();
        }
    }
    match tx.commit().await {
        Ok(()) => done,
        Err(err) => {
            leased.clear();
            let message = format!("commit failed: {err}");
            done.into_iter().map(|c| c.fail(&message)).collect()
        }
    }
}

/// The batch's changes: all at once when possible, else one by one in savepoints. `Err` means
/// the transaction is in an unknown state and must not commit.
async fn apply_changes(
    conn: &mut SqliteConnection,
    changes: Vec<Change>,
    replies: Vec<oneshot::Sender<Result<Applied, StoreError>>>,
    done: &mut Vec<Box<dyn Completion>>,
    lease: Option<Millis>,
    leased: &mut Vec<ClaimedDelivery>,
    claimable: &mut bool,
) -> Result<(), String> {
    if changes.is_empty() {
        return Ok(());
    }
    sqlx::query("SAVEPOINT batch")
        .execute(&mut *conn)
        .await
        .map_err(|err| format!("could not open a savepoint: {err}"))?;
    match crate::batch::apply_batch(conn, &changes, lease, leased).await {
        Ok(results) => {
            sqlx::query("RELEASE batch")
                .execute(&mut *conn)
                .await
                .map_err(|err| format!("could not close a savepoint: {err}"))?;
            for (reply, result) in replies.into_iter().zip(results) {
                done.push(Box::new(Reply { to: reply, result }));
            }
            return Ok(());
        }
        Err(err) => {
            // The change-by-change path hands nothing over: its deliveries are claimed.
            leased.clear();
            *claimable = true;
            tracing::debug!(%err, "batched apply failed; applying change by change");
            sqlx::raw_sql("ROLLBACK TO batch; RELEASE batch")
                .execute(&mut *conn)
                .await
                .map_err(|err| format!("could not roll a savepoint back: {err}"))?;
        }
    }
    for (change, reply) in changes.into_iter().zip(replies) {
        let run: RunJob = Box::new(move |conn| {
            Box::pin(
                async move { Box::new(Reply { to: reply, result: apply(conn, change).await }) as Box<dyn Completion> },
            )
        });
        in_savepoint(conn, run, done).await?;
    }
    Ok(())
}

/// Runs one job inside its own savepoint, so a failed job is undone alone.
async fn in_savepoint(
    conn: &mut SqliteConnection,
    run: RunJob,
    done: &mut Vec<Box<dyn Completion>>,
) -> Result<(), String> {
    sqlx::query("SAVEPOINT job")
        .execute(&mut *conn)
        .await
        .map_err(|err| format!("could not open a savepoint: {err}"))?;
    let completion = run(conn).await;
    let close = if completion.succeeded() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    done.push(completion);
    sqlx::raw_sql(close)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|err| format!("could not close a savepoint: {err}"))
}

pub(crate) async fn insert_company(conn: &mut SqliteConnection, company: &Company) -> Result<(), StoreError> {
    let res = sqlx::query("INSERT INTO companies (id, created_at, doc) VALUES ($1, $2, $3)")
        .bind(company.id.as_str())
        .bind(company.created_at.as_millis())
        .bind(to_doc(company)?)
        .execute(&mut *conn)
        .await;
    match res {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            Err(StoreError::Duplicate { what: format!("company {}", company.id) })
        }
        other => other.map(drop).map_err(unavailable),
    }
}

pub(crate) async fn update_company(conn: &mut SqliteConnection, company: &Company) -> Result<(), StoreError> {
    let res = sqlx::query("UPDATE companies SET doc = $2 WHERE id = $1")
        .bind(company.id.as_str())
        .bind(to_doc(company)?)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    expect_one_row(res, "company", company.id.as_str(), "an existing company")
}

pub(crate) async fn insert_api_key(conn: &mut SqliteConnection, key: &ApiKey) -> Result<(), StoreError> {
    let res = sqlx::query("INSERT INTO api_keys (public_id, company_id, created_at, doc) VALUES ($1, $2, $3, $4)")
        .bind(&key.public_id)
        .bind(key.company_id.as_str())
        .bind(key.created_at.as_millis())
        .bind(to_doc(key)?)
        .execute(&mut *conn)
        .await;
    match res {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            Err(StoreError::Duplicate { what: format!("API key {}", key.public_id) })
        }
        other => other.map(drop).map_err(unavailable),
    }
}

pub(crate) async fn revoke_api_key(
    conn: &mut SqliteConnection,
    company: &CompanyId,
    public_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM api_keys WHERE public_id = $1 AND company_id = $2")
        .bind(public_id)
        .bind(company.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
    let Some(doc) = doc else { return Ok(false) };
    let mut key: ApiKey = serde_json::from_str(&doc).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    if key.revoked_at.is_some() {
        return Ok(false);
    }
    key.revoked_at = Some(at);
    sqlx::query("UPDATE api_keys SET doc = $2 WHERE public_id = $1")
        .bind(public_id)
        .bind(to_doc(&key)?)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    Ok(true)
}

pub(crate) async fn apply(conn: &mut SqliteConnection, change: Change) -> Result<Applied, StoreError> {
    for guard in &change.guards {
        let version: Option<i64> = sqlx::query_scalar("SELECT version FROM tests WHERE id = $1 AND company_id = $2")
            .bind(guard.test_id.as_str())
            .bind(guard.company_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(unavailable)?;
        if version != Some(guard.version as i64) {
            return Err(conflict("test", guard.test_id.as_str(), Expected::Version(guard.version)));
        }
    }
    for (test, expected) in &change.tests {
        write_test(conn, test, *expected).await?;
    }
    for (session, expected) in &change.sessions {
        write_session(conn, session, *expected).await?;
        write_timer(conn, session, *expected).await?;
    }
    for (interview, expected) in &change.interviews {
        write_interview(conn, interview, *expected).await?;
    }
    let mut events = Vec::with_capacity(change.events.len());
    for event in change.events {
        events.push(insert_event(conn, event).await?);
    }
    Ok(Applied { events })
}

/// The version a write must carry: one past the version it replaces.
pub(crate) fn check_version(
    aggregate: &'static str,
    id: &str,
    version: u64,
    expected: Expected,
) -> Result<(), StoreError> {
    let wanted = match expected {
        Expected::New => 1,
        Expected::Version(v) => v + 1,
    };
    if version == wanted {
        Ok(())
    } else {
        Err(StoreError::InvalidChange(format!(
            "{aggregate} {id} is written at version {version}, but a write expecting {expected:?} must produce version {wanted}"
        )))
    }
}

pub(crate) fn conflict(aggregate: &'static str, id: &str, expected: Expected) -> StoreError {
    let expected = match expected {
        Expected::New => "it not to exist yet".to_owned(),
        Expected::Version(v) => format!("version {v}"),
    };
    StoreError::Conflict { aggregate, id: id.to_owned(), expected }
}

fn expect_one_row(res: SqliteQueryResult, aggregate: &'static str, id: &str, expected: &str) -> Result<(), StoreError> {
    if res.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict { aggregate, id: id.to_owned(), expected: expected.to_owned() })
    }
}

/// Maps a failed INSERT: a taken primary key means the aggregate already exists.
fn insert_error(err: sqlx::Error, aggregate: &'static str, id: &str) -> StoreError {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => conflict(aggregate, id, Expected::New),
        other => unavailable(other),
    }
}

pub(crate) fn to_doc(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::InvalidChange(format!("cannot encode: {err}")))
}

pub(crate) async fn write_test(
    conn: &mut SqliteConnection,
    test: &CompanyTest,
    expected: Expected,
) -> Result<(), StoreError> {
    let id = test.id.as_str();
    check_version("test", id, test.version, expected)?;
    let doc = to_doc(test)?;
    let version = test.version as i64;
    match expected {
        Expected::New => sqlx::query(
            "INSERT INTO tests (id, company_id, version, title, status, framework_id, create_date, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(test.company_id.as_str())
        .bind(version)
        .bind(&test.title)
        .bind(test.status.as_str())
        .bind(test.framework_id.as_ref().map(|f| f.as_str()))
        .bind(test.create_date.as_millis())
        .bind(doc)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|err| insert_error(err, "test", id)),
        Expected::Version(old) => {
            let res = sqlx::query(
                "UPDATE tests SET version = $3, title = $4, status = $5, doc = $6 \
                 WHERE id = $1 AND company_id = $2 AND version = $7",
            )
            .bind(id)
            .bind(test.company_id.as_str())
            .bind(version)
            .bind(&test.title)
            .bind(test.status.as_str())
            .bind(doc)
            .bind(old as i64)
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
            if res.rows_affected() == 1 { Ok(()) } else { Err(conflict("test", id, expected)) }
        }
    }
}

async fn write_session(
    conn: &mut SqliteConnection,
    session: &CompanyTestSession,
    expected: Expected,
) -> Result<(), StoreError> {
    let id = session.id.as_str();
    check_version("test session", id, session.version, expected)?;
    let doc = to_doc(session)?;
    let version = session.version as i64;
    let finish = session.finish_date.map(|t| t.as_millis());
    match expected {
        Expected::New => sqlx::query(
            "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, framework_id, \
             create_date, finish_date, greenhouse_candidate_id, greenhouse_application_id, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id)
        .bind(session.company_id.as_str())
        .bind(session.test_id.as_str())
        .bind(version)
        .bind(session.status.as_str())
        .bind(&session.candidate.email)
        .bind(session.framework_id.as_ref().map(|f| f.as_str()))
        .bind(session.create_date.as_millis())
        .bind(finish)
        .bind(session.integrations.greenhouse_candidate_id.as_deref())
        .bind(session.integrations.greenhouse_application_id.as_deref())
        .bind(doc)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(|err| insert_error(err, "test session", id)),
        Expected::Version(old) => {
            let res = sqlx::query(
                "UPDATE sessions SET version = $3, status = $4, finish_date = $5, doc = $6 \
                 WHERE id = $1 AND company_id = $2 AND version = $7",
            )
            .bind(id)
            .bind(session.company_id.as_str())
            .bind(version)
            .bind(session.status.as_str())
            .bind(finish)
            .bind(doc)
            .bind(old as i64)
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
            if res.rows_affected() == 1 { Ok(()) } else { Err(conflict("test session", id, expected)) }
        }
    }
}

/// Rewrites the session's timer from its new state, in the same transaction.
async fn write_timer(
    conn: &mut SqliteConnection,
    session: &CompanyTestSession,
    expected: Expected,
) -> Result<(), StoreError> {
    let res = match session.next_deadline() {
        Some(deadline) => {
            sqlx::query(
                "INSERT INTO timers (session_id, company_id, kind, due_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at",
            )
            .bind(session.id.as_str())
            .bind(session.company_id.as_str())
            .bind(deadline.kind.as_str())
            .bind(deadline.due.as_millis())
            .execute(&mut *conn)
            .await
        }
        None if expected == Expected::New => return Ok(()),
        None => {
            sqlx::query("DELETE FROM timers WHERE session_id = $1").bind(session.id.as_str()).execute(&mut *conn).await
        }
    };
    res.map(drop).map_err(unavailable)
}

pub(crate) async fn write_interview(
    conn: &mut SqliteConnection,
    interview: &LiveInterview,
    expected: Expected,
) -> Result<(), StoreError> {
    let id = interview.id.as_str();
    check_version("live interview", id, interview.version, expected)?;
    let doc = to_doc(interview)?;
    match expected {
        Expected::New => sqlx::query("INSERT INTO interviews (id, company_id, version, doc) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(interview.company_id.as_str())
            .bind(interview.version as i64)
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map(drop)
            .map_err(|err| insert_error(err, "live interview", id)),
        Expected::Version(old) => {
            let res = sqlx::query(
                "UPDATE interviews SET version = $3, doc = $4 WHERE id = $1 AND company_id = $2 AND version = $5",
            )
            .bind(id)
            .bind(interview.company_id.as_str())
            .bind(interview.version as i64)
            .bind(doc)
            .bind(old as i64)
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
            if res.rows_affected() == 1 { Ok(()) } else { Err(conflict("live interview", id, expected)) }
        }
    }
}

async fn insert_event(conn: &mut SqliteConnection, event: DomainEvent) -> Result<StoredEvent, StoreError> {
    let id = new_event_id();
    let payload = serde_json::to_string(&event.payload)
        .map_err(|err| StoreError::InvalidChange(format!("cannot encode the payload: {err}")))?;
    let res = sqlx::query(
        "INSERT INTO events (id, company_id, session_id, test_id, kind, triggered_on, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.as_str())
    .bind(event.company_id.as_str())
    .bind(event.session_id.as_ref().map(|s| s.as_str()))
    .bind(event.test_id.as_ref().map(|t| t.as_str()))
    .bind(event.kind.name())
    .bind(event.triggered_on.as_millis())
    .bind(payload)
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    let stored = StoredEvent {
        seq: res.last_insert_rowid(),
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
    crate::delivery::fan_out(conn, &stored, &order_key).await?;
    Ok(stored)
}
