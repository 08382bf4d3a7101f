//! The embedded SQLite store: screenhook's default, one file and no setup.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=FULL`: a commit is fsync'ed before the
//! caller hears about it, so an acknowledged transition survives power loss, not only a crash
//! of the process (`NORMAL` would survive `kill -9` but may lose the last commits on power
//! loss). `busy_timeout` is 5 s, and every write transaction starts with `BEGIN IMMEDIATE`, so
//! a transaction never has to upgrade a read lock into a write lock half-way through.
//!
//! # Group commit on a thread of its own
//! SQLite allows one writer at a time, and a durable commit costs an fsync. All writes therefore
//! go through a single writer thread that takes every job waiting in its queue (up to
//! [`MAX_BATCH`]), applies each inside its own savepoint and commits them together: one fsync
//! for the whole batch. A change whose version check fails is rolled back to its savepoint
//! alone; the others still commit. Callers wait until the batch holding their change is durable.
//!
//! The writer is a plain OS thread calling SQLite directly (rusqlite, cached statements): a
//! batch costs one hand-off in and one reply out, however many statements it runs. (An async
//! driver that keeps each connection on its own worker thread pays a cross-thread round trip
//! per statement, which dominated the cost of a commit.) Reads run on a small pool of read-only
//! connections in tokio's blocking pool, beside the writer, as WAL allows.
//!
//! # Layout
//! - `writer`: the writer thread, its batch loop and the SQL of lifecycle writes.
//! - `batch`: the fast path that writes a whole batch of changes in a few statements.
//! - `delivery`: webhooks and the delivery queue.
//! - `read`: the read pool.
//! - `migrate`: the embedded schema migrations.
//! - this file: opening the database, and the reads.

mod batch;
mod delivery;
mod migrate;
mod read;
mod writer;

use std::{path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, Row, types::Value};
use screenhook_domain::{
    ApiKey, Change, Company, CompanyId, CompanyTestSession, DeadlineKind, EventId, EventKind, Millis, SessionId,
    TestId, Timestamp, Webhook, WebhookHealth, WebhookId,
};
use screenhook_store::reads::{Param, TextRead};
use screenhook_store::{
    Applied, AttemptRecord, AttemptRow, CertifyImported, CertifyRecord, ClaimedDelivery, DeliveryBucket,
    DeliveryFilter, DeliveryRow, Handoff, HealthPolicy, Notification, Purged, QueueStats, SecretKeys, SeriesBuilder,
    StoreError, StoredEvent, Timer,
};
use tokio::sync::{Notify, mpsc, oneshot};

pub use writer::MAX_BATCH;
use writer::{Completion, Reply, WriteJob};

/// Where [`SqliteStore::open`] keeps the key webhook secrets are sealed with when none is
/// configured: beside the database, `screenhook.db` → `screenhook.key`. It protects a copied
/// database file, not a copied directory: deployments that care set their own key elsewhere.
pub fn key_file_for(database: &Path) -> std::path::PathBuf {
    database.with_extension("key")
}

/// The SQLite implementation of [`screenhook_store::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    reads: Arc<read::ReadPool>,
    writer: mpsc::Sender<WriteJob>,
    work: Arc<Notify>,
    handoff: Arc<Handoff>,
    /// Seals webhook secrets on their way in and opens them on their way out.
    keys: Arc<SecretKeys>,
}

impl SqliteStore {
    /// [`open_with_keys`](Self::open_with_keys) with the key in the file beside the database
    /// ([`key_file_for`]), created on first use.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let keys = SecretKeys::from_file_or_create(&key_file_for(path), &[])
            .map_err(|err| StoreError::Unavailable(err.to_string()))?;
        SqliteStore::open_with_keys(path, keys).await
    }

    /// Opens (creating if missing) the database file, runs the embedded migrations and starts
    /// the writer thread; webhook secrets are sealed with `keys`. Must be called inside a tokio
    /// runtime.
    pub async fn open_with_keys(path: &Path, keys: SecretKeys) -> Result<SqliteStore, StoreError> {
        let path = path.to_owned();
        let (conn, reads) = tokio::task::spawn_blocking(move || {
            let mut conn = connect(&path, false)?;
            migrate::run(&mut conn)
                .map_err(|err| StoreError::Unavailable(format!("migrating {}: {err}", path.display())))?;
            let reads = read::ReadPool::open(path, 4)?;
            Ok::<_, StoreError>((conn, reads))
        })
        .await
        .map_err(unavailable)??;
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        let work = Arc::new(Notify::new());
        let handoff = Arc::new(Handoff::default());
        let (thread_work, thread_handoff) = (work.clone(), handoff.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, jobs, thread_work, thread_handoff))
            .map_err(|err| StoreError::Unavailable(format!("could not start the writer thread: {err}")))?;
        Ok(SqliteStore { reads: Arc::new(reads), writer, work, handoff, keys: Arc::new(keys) })
    }

    /// Gives back every lease: for the one process that serves this database, at start. On
    /// SQLite no other process can hold a claim, so deliveries that were in flight when the
    /// previous process died are due again at once rather than after their lease.
    pub async fn release_leases(&self) -> Result<u64, StoreError> {
        self.write_waking(|conn| {
            let released = conn
                .prepare_cached("UPDATE deliveries SET lease_until = 0 WHERE state = 'ready' AND lease_until > 0")?
                .execute([])?;
            conn.prepare_cached("UPDATE webhooks SET probe_lease_until = 0 WHERE probe_lease_until > 0")?.execute([])?;
            Ok((released as u64, released > 0))
        })
        .await
    }

    /// Runs `write` in the writer's next batch and waits until that batch is durable. For
    /// writes that never make a delivery due.
    async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        self.write_waking(move |conn| write(conn).map(|value| (value, false))).await
    }

    /// Like [`Self::write`], for writes that may make deliveries due: `write` says whether it
    /// did, and if so the delivery workers are woken once the batch is durable.
    async fn write_waking<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), Failure> + Send + 'static,
    {
        let (to, answer) = oneshot::channel();
        let job = WriteJob::Run(Box::new(move |conn| {
            let (result, wakes) = match write(conn) {
                Ok((value, wakes)) => (Ok(value), wakes),
                Err(failure) => (Err(StoreError::from(failure)), false),
            };
            Box::new(Reply { to, result, wakes }) as Box<dyn Completion>
        }));
        self.writer.send(job).await.map_err(|_| abandoned())?;
        answer.await.map_err(|_| abandoned())?
    }

    /// Reads the one row a query finds (by key, or `LIMIT 1`) with `map`, or `None`.
    async fn read_one<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<Value>,
        map: fn(&Row<'_>) -> Result<T, Failure>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.read_all(sql, params, map).await?.into_iter().next())
    }

    /// Reads every row with `map`.
    async fn read_all<T: Send + 'static>(
        &self,
        sql: impl AsRef<str> + Send + 'static,
        params: Vec<Value>,
        map: fn(&Row<'_>) -> Result<T, Failure>,
    ) -> Result<Vec<T>, StoreError> {
        self.reads
            .run(move |conn| {
                let mut statement = conn.prepare_cached(sql.as_ref())?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                let mut all = Vec::new();
                while let Some(row) = rows.next()? {
                    all.push(map(row)?);
                }
                Ok(all)
            })
            .await
    }
}

/// Opens one connection with the store's settings. `read_only` connections refuse writes.
fn connect(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open = || -> Result<Connection, String> {
        let sql = |err: rusqlite::Error| err.to_string();
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("the journal mode stayed {mode}, WAL was asked for"));
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(sql)?;
        if read_only {
            conn.pragma_update(None, "query_only", true).map_err(sql)?;
        } else {
            // The writer walks the queue and appends to every index all the time: 32 MiB of
            // page cache (instead of 2) keeps their hot pages in memory rather than re-read.
            // 64 MiB was no faster and put a million-event backlog's RSS at 146-151 MiB.
            conn.pragma_update(None, "cache_size", -32_768).map_err(sql)?;
        }
        // Savepoints journal the pages they change; keep that journal off the disk.
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(sql)?;
        // Plans never depend on bound values: otherwise SQLite re-parses and re-plans a cached
        // statement whenever a parameter it could plan by (a range bound, a term matching a
        // partial index) is bound to a new value, which was most of a small batch's cost.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(sql)?;
        // Batches bind rows in power-of-two chunks, one statement per size and table.
        conn.set_prepared_statement_cache_capacity(256);
        Ok(conn)
    };
    open().map_err(|err| StoreError::Unavailable(format!("opening {}: {err}", path.display())))
}

/// A failure inside the store: a statement that failed, or an answer for the caller. Lets `?`
/// take both inside a transaction; callers only ever see the [`StoreError`].
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(err: rusqlite::Error) -> Self {
        Failure::Sql(err)
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::Store(err)
    }
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Sql(err) => unavailable(err),
            Failure::Store(err) => err,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Sql(err) => err.fmt(f),
            Failure::Store(err) => err.fmt(f),
        }
    }
}

/// Whether a statement failed on a taken primary key or unique value.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error().map(|e| e.extended_code),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
    )
}

fn abandoned() -> StoreError {
    StoreError::Unavailable("the write was abandoned before it committed; see the server log".into())
}

pub(crate) fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

pub(crate) fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

pub(crate) fn opt_text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, text)
}

pub(crate) fn opt_int(value: Option<i64>) -> Value {
    value.map_or(Value::Null, Value::Integer)
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> Failure {
    Failure::Store(StoreError::Corrupt(what.to_string()))
}

pub(crate) fn decode_event(row: &Row<'_>) -> Result<StoredEvent, Failure> {
    let kind: String = row.get("kind")?;
    let payload: String = row.get("payload")?;
    let session_id: Option<String> = row.get("session_id")?;
    let test_id: Option<String> = row.get("test_id")?;
    Ok(StoredEvent {
        seq: row.get("seq")?,
        id: EventId::parse(row.get::<_, String>("id")?).map_err(|e| corrupt(format!("event id: {e}")))?,
        kind: EventKind::from_name(&kind).ok_or_else(|| corrupt(format!("event kind: {kind}")))?,
        triggered_on: Timestamp::from_millis(row.get("triggered_on")?),
        company_id: CompanyId::parse(row.get::<_, String>("company_id")?)
            .map_err(|e| corrupt(format!("event company id: {e}")))?,
        session_id: session_id.map(SessionId::parse).transpose().map_err(|e| corrupt(format!("event session: {e}")))?,
        test_id: test_id.map(TestId::parse).transpose().map_err(|e| corrupt(format!("event test: {e}")))?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt(format!("event payload: {e}")))?,
    })
}

fn decode_timer(row: &Row<'_>) -> Result<Timer, Failure> {
    let kind: String = row.get("kind")?;
    Ok(Timer {
        session_id: SessionId::parse(row.get::<_, String>("session_id")?)
            .map_err(|e| corrupt(format!("timer: {e}")))?,
        company_id: CompanyId::parse(row.get::<_, String>("company_id")?)
            .map_err(|e| corrupt(format!("timer: {e}")))?,
        kind: DeadlineKind::parse(&kind).ok_or_else(|| corrupt(format!("timer kind: {kind}")))?,
        due: Timestamp::from_millis(row.get("due_at")?),
    })
}

/// `SELECT` of whole events, followed by the rest of the query.
macro_rules! select_events {
    ($rest:literal) => {
        concat!("SELECT seq, id, company_id, session_id, test_id, kind, triggered_on, payload FROM events ", $rest)
    };
}
pub(crate) use select_events;

#[async_trait]
impl screenhook_store::Store for SqliteStore {
    async fn read_texts(&self, read: TextRead) -> Result<Vec<String>, StoreError> {
        let (sql, params) = read.into_parts();
        let params = params.into_iter().map(|param| match param {
            Param::Text(text) => Value::Text(text),
            Param::Int(int) => Value::Integer(int),
        });
        self.read_all(sql, params.collect(), |row| Ok(row.get(0)?)).await
    }

    fn open_session(&self, stored: CompanyTestSession) -> Result<CompanyTestSession, StoreError> {
        self.keys.open_session(stored)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read_one("SELECT 1", vec![], |row| Ok(row.get::<_, i64>(0)?)).await?;
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("the writer thread has stopped".into()));
        }
        Ok(())
    }

    fn work_signal(&self) -> Arc<Notify> {
        self.work.clone()
    }

    fn local_deliveries(&self, lease: Millis) -> Option<mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>> {
        Some(self.handoff.register(lease))
    }

    async fn insert_company(&self, company: &Company) -> Result<(), StoreError> {
        let company = company.clone();
        self.write(move |conn| writer::insert_company(conn, &company)).await
    }

    async fn update_company(&self, company: &Company) -> Result<(), StoreError> {
        let company = company.clone();
        self.write(move |conn| writer::update_company(conn, &company)).await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.write(move |conn| writer::insert_api_key(conn, &key)).await
    }

    async fn revoke_api_key(&self, company: &CompanyId, public_id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let (company, public_id) = (company.clone(), public_id.to_owned());
        self.write(move |conn| writer::revoke_api_key(conn, &company, &public_id, at)).await
    }

    async fn apply(&self, mut change: Change) -> Result<Applied, StoreError> {
        self.keys.seal_change(&mut change)?;
        let (to, answer) = oneshot::channel();
        self.writer.send(WriteJob::Apply(change, to)).await.map_err(|_| abandoned())?;
        answer.await.map_err(|_| abandoned())?
    }

    async fn import_certify(
        &self,
        mut records: Vec<CertifyRecord>,
    ) -> Result<Vec<Result<CertifyImported, StoreError>>, StoreError> {
        self.keys.seal_records(&mut records)?;
        self.write(move |conn| writer::import_certify(conn, records)).await
    }

    async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<Timer>, StoreError> {
        self.read_all(
            "SELECT session_id, company_id, kind, due_at FROM timers WHERE due_at <= ?1 ORDER BY due_at, session_id LIMIT ?2",
            vec![Value::Integer(now.as_millis()), Value::Integer(i64::from(limit))],
            decode_timer,
        )
        .await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due =
            self.read_one("SELECT MIN(due_at) FROM timers", vec![], |row| Ok(row.get::<_, Option<i64>>(0)?)).await?;
        Ok(due.flatten().map(Timestamp::from_millis))
    }

    async fn events_after(&self, after_seq: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = select_events!("WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        self.read_all(sql, vec![Value::Integer(after_seq), Value::Integer(i64::from(limit))], decode_event).await
    }

    async fn events_of_session(
        &self,
        company: &CompanyId,
        session: &SessionId,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = select_events!("WHERE session_id = ?1 AND company_id = ?2 ORDER BY seq");
        self.read_all(sql, vec![text(session.as_str()), text(company.as_str())], decode_event).await
    }

    async fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let webhook = self.keys.seal_webhook(webhook)?;
        self.write(move |conn| delivery::insert_webhook(conn, &webhook)).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let webhook = self.keys.seal_webhook(webhook)?;
        self.write(move |conn| delivery::update_webhook(conn, &webhook)).await
    }

    async fn delete_webhook(&self, company: &CompanyId, id: &WebhookId) -> Result<bool, StoreError> {
        let (company, id) = (company.clone(), id.clone());
        self.write(move |conn| delivery::delete_webhook(conn, &company, &id)).await
    }

    async fn webhook(
        &self,
        company: &CompanyId,
        id: &WebhookId,
    ) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        self.read_one(
            "SELECT doc, state, consecutive_failures, probe_after FROM webhooks \
             WHERE id = ?1 AND company_id = ?2 AND deleted = 0",
            vec![text(id.as_str()), text(company.as_str())],
            delivery::decode_webhook,
        )
        .await?
        .map(|(webhook, health)| Ok((self.keys.open_webhook(webhook)?, health)))
        .transpose()
    }

    async fn webhooks(&self, company: &CompanyId) -> Result<Vec<(Webhook, WebhookHealth)>, StoreError> {
        self.read_all(
            "SELECT doc, state, consecutive_failures, probe_after FROM webhooks \
             WHERE company_id = ?1 AND deleted = 0 ORDER BY created_at, id",
            vec![text(company.as_str())],
            delivery::decode_webhook,
        )
        .await?
        .into_iter()
        .map(|(webhook, health)| Ok((self.keys.open_webhook(webhook)?, health)))
        .collect()
    }

    async fn webhook_unscoped(&self, id: &WebhookId) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        self.read_one(
            "SELECT doc, state, consecutive_failures, probe_after FROM webhooks WHERE id = ?1 AND deleted = 0",
            vec![text(id.as_str())],
            delivery::decode_webhook,
        )
        .await?
        .map(|(webhook, health)| Ok((self.keys.open_webhook(webhook)?, health)))
        .transpose()
    }

    async fn reseal_webhooks(&self) -> Result<u64, StoreError> {
        let keys = self.keys.clone();
        self.write(move |conn| delivery::reseal_secrets(conn, &keys)).await
    }

    async fn reseal_sessions(&self) -> Result<u64, StoreError> {
        // Found on a read connection, so the writer is busy only for the rows it rewrites.
        let (mut sessions, mut after) = (0, String::new());
        loop {
            let marker = self.keys.current_session_marker();
            let stale = self.reads.run(move |conn| writer::stale_sessions(conn, &marker, &after)).await?;
            let Some(last) = stale.last().cloned() else { break };
            let keys = self.keys.clone();
            sessions += self.write(move |conn| writer::reseal_sessions(conn, &keys, &stale)).await?;
            after = last;
        }
        Ok(sessions)
    }

    async fn restore_webhook(&self, company: &CompanyId, id: &WebhookId, now: Timestamp) -> Result<bool, StoreError> {
        let (company, id) = (company.clone(), id.clone());
        self.write_waking(move |conn| delivery::restore_webhook(conn, &company, &id, now).map(|done| (done, done)))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Millis,
        limit: u32,
        saturated: &[WebhookId],
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let saturated = saturated.to_vec();
        self.write(move |conn| delivery::claim(conn, now, lease, limit, &saturated)).await
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>, policy: &HealthPolicy) -> Result<(), StoreError> {
        let policy = policy.clone();
        // Wakes the workers only when a finished delivery let its session's next one go.
        self.write_waking(move |conn| delivery::record(conn, &attempts, &policy).map(|promoted| ((), promoted))).await
    }

    async fn release_deliveries(&self, claimed: &[(i64, i64)]) -> Result<(), StoreError> {
        if claimed.is_empty() {
            return Ok(());
        }
        let rows = claimed.iter().map(|(id, claim)| vec![Value::Integer(*id), Value::Integer(*claim)]).collect();
        self.write_waking(move |conn| {
            let released = batch::each_chunk(
                conn,
                "UPDATE deliveries SET lease_until = 0 FROM (",
                ") AS v WHERE deliveries.id = v.column1 AND deliveries.claim = v.column2 \
                 AND deliveries.state = 'ready' RETURNING deliveries.id",
                2,
                rows,
                |_| Ok(()),
            )?;
            Ok(((), !released.is_empty()))
        })
        .await
    }

    async fn deliveries(&self, company: &CompanyId, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let params = vec![
            text(company.as_str()),
            opt_text(filter.webhook.as_ref().map(|w| w.as_str())),
            opt_text(filter.event.as_ref().map(|e| e.as_str())),
            opt_text(filter.session.as_ref().map(|s| s.as_str())),
            opt_int(filter.before),
            Value::Integer(i64::from(filter.limit.clamp(1, 1000))),
        ];
        self.read_all(delivery::DELIVERY_FILTER_SQL, params, delivery::decode_delivery).await
    }

    async fn attempts(&self, company: &CompanyId, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        self.read_all(
            "SELECT a.delivery_id, a.attempt, a.at, a.status, a.error_class, a.latency_ms, a.excerpt \
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
             WHERE a.delivery_id = ?1 AND d.company_id = ?2 ORDER BY a.attempt",
            vec![Value::Integer(delivery_id), text(company.as_str())],
            delivery::decode_attempt,
        )
        .await
    }

    async fn delivery_series(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        until: Timestamp,
        bucket: Millis,
    ) -> Result<Vec<DeliveryBucket>, StoreError> {
        let mut series = SeriesBuilder::new(since, until, bucket)?;
        if series.is_empty() {
            return Ok(Vec::new());
        }
        let params = vec![
            text(company.as_str()),
            text(webhook.as_str()),
            Value::Integer(since.as_millis()),
            Value::Integer(until.as_millis()),
            Value::Integer(bucket.as_millis()),
        ];
        let counts = self.read_all(delivery::DELIVERY_SERIES_SQL, params, delivery::decode_series_count).await?;
        for count in counts {
            match count {
                delivery::SeriesCount::Deliveries { bucket, state, count } => series.deliveries(bucket, state, count),
                delivery::SeriesCount::Latency { bucket, latency_ms, count } => {
                    series.latencies(bucket, latency_ms, count)
                }
            }
        }
        Ok(series.finish())
    }

    async fn replay(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        event: &EventId,
        now: Timestamp,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let (c, w, e) = (company.clone(), webhook.clone(), event.clone());
        let id =
            self.write_waking(move |conn| delivery::replay(conn, &c, &w, &e, now).map(|id| (id, id.is_some()))).await?;
        let Some(id) = id else { return Ok(None) };
        self.read_one(delivery::DELIVERY_BY_ID_SQL, vec![Value::Integer(id)], delivery::decode_delivery).await
    }

    async fn recover(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let (c, w) = (company.clone(), webhook.clone());
        self.write_waking(move |conn| delivery::recover(conn, &c, &w, since, now).map(|queued| (queued, queued > 0)))
            .await
    }

    async fn queue_stats(&self, now: Timestamp) -> Result<QueueStats, StoreError> {
        let queue = self
            .read_all(
                "SELECT CASE WHEN paused = 1 THEN 'paused' WHEN state = 'waiting' THEN 'waiting' \
                 WHEN lease_until > ?1 THEN 'in_flight' WHEN next_attempt_at > ?1 THEN 'scheduled' \
                 ELSE 'due' END AS bucket, COUNT(*), MIN(created_at), MIN(MAX(due_at, created_at)) \
                 FROM deliveries WHERE state IN ('ready', 'waiting') GROUP BY bucket",
                vec![Value::Integer(now.as_millis())],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .await?;
        let webhooks = self
            .read_all("SELECT state, COUNT(*) FROM webhooks WHERE deleted = 0 GROUP BY state", vec![], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .await?;
        QueueStats::from_rows(queue, webhooks)
    }

    async fn purge_history(&self, before: Timestamp, limit: u32) -> Result<Purged, StoreError> {
        self.write(move |conn| {
            let before = before.as_millis();
            let ids: Vec<i64> = conn
                .prepare_cached(
                    "SELECT id FROM deliveries WHERE state IN ('delivered', 'failed', 'cancelled') \
                     AND finished_at < ?1 ORDER BY id LIMIT ?2",
                )?
                .query_map(rusqlite::params![before, limit], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            let mut purged = Purged::default();
            let mut attempts = conn.prepare_cached("DELETE FROM attempts WHERE delivery_id = ?1")?;
            let mut delivery = conn.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?;
            for id in ids {
                purged.attempts += attempts.execute([id])? as u64;
                purged.deliveries += delivery.execute([id])? as u64;
            }
            purged.events = conn
                .prepare_cached(
                    "DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.triggered_on < ?1 \
                     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq) ORDER BY e.seq LIMIT ?2)",
                )?
                .execute(rusqlite::params![before, limit])? as u64;
            Ok(purged)
        })
        .await
    }

    async fn pending_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError> {
        self.read_all(
            "SELECT id, webhook_id, company_id, consecutive_failures, disabled, last_error, created_at \
             FROM notifications WHERE handled_at IS NULL ORDER BY id LIMIT ?1",
            vec![Value::Integer(i64::from(limit))],
            delivery::decode_notification,
        )
        .await
    }

    async fn mark_notification(&self, id: i64, at: Timestamp, outcome: &str) -> Result<(), StoreError> {
        let outcome = outcome.to_owned();
        self.write(move |conn| {
            conn.prepare_cached("UPDATE notifications SET handled_at = ?2, outcome = ?3 WHERE id = ?1")?
                .execute(rusqlite::params![id, at.as_millis(), outcome])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use screenhook_store::Store;

    use super::SqliteStore;

    async fn fresh_store() -> (Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("screenhook.db")).await.expect("open store");
        (Arc::new(store), dir)
    }

    screenhook_store::conformance_tests!(fresh_store);

    /// Secrets and session tokens are ciphertext in the file, the default key lives beside it,
    /// and a key rotation is: the new key current, the old one previous, a reseal, then the old
    /// key dropped.
    #[tokio::test]
    async fn secrets_are_sealed_in_the_file_and_survive_a_key_rotation() {
        use screenhook_domain::{Change, CompanyTestSession, EventKind, Expected, SessionId};
        use screenhook_store::{
            RESEAL_BATCH, Resealed, SecretKeys,
            conformance::{seed, session_with_result, webhook},
        };

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screenhook.db");
        let store = SqliteStore::open(&path).await.unwrap();
        assert!(dir.path().join("screenhook.key").exists(), "the default key is created beside the database");
        let (_, pending) = seed(&store, "acme", "s1").await;
        let hook = webhook("acme", "wh", &EventKind::ALL);
        let secret = hook.secret.clone().unwrap();
        store.insert_webhook(&hook).await.unwrap();
        // More sessions than one reseal batch, so the rotation below takes several.
        let many: Vec<CompanyTestSession> = (0..RESEAL_BATCH + 20)
            .map(|n| session_with_result(&format!("m{n:04}"), &format!("m{n:04}.link-{n}"), &format!("report-{n}")))
            .collect();
        let sessions = many.iter().map(|s| (s.clone(), Expected::New)).collect();
        store.apply(Change { sessions, ..Change::default() }).await.unwrap();
        let raw = |path: &std::path::Path, sql: &str| -> String {
            let conn = rusqlite::Connection::open(path).unwrap();
            let docs: Vec<String> =
                conn.prepare(sql).unwrap().query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
            docs.join("\n")
        };
        let webhooks = raw(&path, "SELECT doc FROM webhooks");
        assert!(!webhooks.contains(&secret) && webhooks.contains("sealed:v1:"), "{webhooks}");
        let docs = raw(&path, "SELECT doc FROM sessions");
        for token in [pending.candidate_token.as_str(), "m0007.link-7", "report-7"] {
            assert!(!docs.contains(token), "{token} is in the file");
        }
        // A session written before sealing existed holds its token in clear; it reads as it is.
        let legacy = CompanyTestSession {
            id: SessionId::parse("legacy").unwrap(),
            candidate_token: "legacy.clear".into(),
            ..pending.clone()
        };
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, create_date, doc) \
                 VALUES ('legacy', 'acme', 'acme-test', 1, 'pending', 'l@example.com', 0, ?1)",
                [serde_json::to_string(&legacy).unwrap()],
            )
            .unwrap();
        assert_eq!(store.session_unscoped(&legacy.id).await.unwrap(), Some(legacy.clone()));
        assert_eq!(store.reseal_secrets().await.unwrap(), Resealed { webhooks: 0, sessions: 1 });
        assert!(!raw(&path, "SELECT doc FROM sessions").contains("legacy.clear"), "sealed by the reseal");
        drop(store);

        let old = std::fs::read_to_string(dir.path().join("screenhook.key")).unwrap();
        let new = SecretKeys::generate();
        let keys = |current: &str, previous: &[&str]| {
            let previous: Vec<_> = previous.iter().map(|k| ("previous", *k)).collect();
            SecretKeys::parse(("current", current), &previous).unwrap()
        };
        let rotated = SqliteStore::open_with_keys(&path, keys(&new, &[old.trim()])).await.unwrap();
        assert_eq!(rotated.webhook_unscoped(&hook.id).await.unwrap().unwrap().0.secret, hook.secret);
        assert_eq!(rotated.session_unscoped(&many[7].id).await.unwrap().as_ref(), Some(&many[7]));
        let everything = Resealed { webhooks: 1, sessions: u64::from(RESEAL_BATCH) + 20 + 2 };
        assert_eq!(rotated.reseal_secrets().await.unwrap(), everything);
        assert_eq!(rotated.reseal_secrets().await.unwrap(), Resealed::default(), "nothing left under the old key");
        drop(rotated);

        let only_new = SqliteStore::open_with_keys(&path, keys(&new, &[])).await.unwrap();
        assert_eq!(only_new.webhook_unscoped(&hook.id).await.unwrap().unwrap().0.secret, hook.secret);
        assert_eq!(only_new.session_unscoped(&legacy.id).await.unwrap(), Some(legacy));
        assert_eq!(
            only_new.session_unscoped(&many[RESEAL_BATCH as usize].id).await.unwrap().as_ref(),
            Some(&many[500])
        );
        drop(only_new);
        let only_old = SqliteStore::open_with_keys(&path, keys(old.trim(), &[])).await.unwrap();
        let err = only_old.webhook_unscoped(&hook.id).await.unwrap_err().to_string();
        assert!(err.contains("which is not configured"), "{err}");
        let err = only_old.session_unscoped(&pending.id).await.unwrap_err().to_string();
        assert!(err.contains("test session s1: its candidate token is sealed with key"), "{err}");
    }

    /// The change-by-change path (taken when a batch cannot be written at once) writes every
    /// session column exactly as the batched path does, on insert and on update.
    #[tokio::test]
    async fn both_write_paths_write_the_same_session_rows() {
        use rusqlite::{Connection, types::Value};
        use screenhook_domain::{Change, CompanyTestSession, Expected, SessionStatus, Timestamp, VerificationStatus};
        use screenhook_store::conformance::seed;

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("screenhook.db")).await.unwrap();
        let (_, session) = seed(&store, "acme", "s1").await;
        let proctored = CompanyTestSession {
            proctored: true,
            verification_status: Some(VerificationStatus::Pending),
            ..session.clone()
        };
        let verified = CompanyTestSession {
            version: 2,
            status: SessionStatus::Over,
            finish_date: Some(Timestamp::from_millis(1_700_000_100_000)),
            verification_status: Some(VerificationStatus::Verified),
            ..proctored.clone()
        };
        let changes = [
            Change { sessions: vec![(proctored, Expected::New)], ..Change::default() },
            Change { sessions: vec![(verified, Expected::Version(1))], ..Change::default() },
        ];
        let rows = |conn: &Connection| -> Vec<Vec<Value>> {
            let mut statement = conn.prepare("SELECT * FROM sessions ORDER BY id").unwrap();
            let columns = statement.column_count();
            statement
                .query_map([], |row| (0..columns).map(|i| row.get::<_, Value>(i)).collect())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let fresh = || {
            let mut conn = Connection::open_in_memory().unwrap();
            super::migrate::run(&mut conn).unwrap();
            conn
        };
        let (batched, one_by_one) = (fresh(), fresh());
        for change in changes {
            let outcome = super::batch::apply_batch(&batched, std::slice::from_ref(&change), None, &mut Vec::new());
            outcome.unwrap().remove(0).unwrap();
            super::writer::apply(&one_by_one, change).unwrap();
            assert_eq!(rows(&batched), rows(&one_by_one));
        }
        let verification: String =
            one_by_one.query_row("SELECT verification_status FROM sessions", [], |row| row.get(0)).unwrap();
        assert_eq!(verification, "verified");
    }

    /// After a crash, what the dead process had leased is due again at once.
    #[tokio::test]
    async fn released_leases_are_claimable_again() {
        use screenhook_domain::{EventKind, Millis};
        use screenhook_store::conformance::{T0, seed, webhook};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("screenhook.db")).await.unwrap();
        store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
        seed(&store, "acme", "s1").await;
        let lease = Millis::from_millis(120_000);
        assert_eq!(store.claim_deliveries(T0, lease, 10, &[]).await.unwrap().len(), 1);
        assert!(store.claim_deliveries(T0, lease, 10, &[]).await.unwrap().is_empty(), "leased");
        assert_eq!(store.release_leases().await.unwrap(), 1);
        assert_eq!(store.claim_deliveries(T0, lease, 10, &[]).await.unwrap().len(), 1);
    }

    /// A claim is a write that makes nothing due: were the workers woken by it, an idle worker
    /// would claim in a loop forever. Recording a delivery that lets its session's next event
    /// go does wake them.
    #[tokio::test]
    async fn claims_do_not_wake_the_workers_but_promotions_do() {
        use std::time::Duration;

        use screenhook_domain::{EventKind, Millis};
        use screenhook_store::{
            AttemptResult,
            conformance::{T0, fire, policy, record, seed, webhook},
        };
        // The writer signals before it replies, so a pending signal is there to be seen at once.
        async fn woken(signal: &tokio::sync::Notify) -> bool {
            tokio::time::timeout(Duration::ZERO, signal.notified()).await.is_ok()
        }
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("screenhook.db")).await.unwrap();
        let signal = store.work_signal();
        store.insert_webhook(&webhook("acme", "wh", &EventKind::ALL)).await.unwrap();
        let (_, session) = seed(&store, "acme", "s1").await;
        fire(&store, &session, EventKind::CompanyTestSessionStarted).await;
        assert!(woken(&signal).await, "new deliveries wake the workers");

        let lease = Millis::from_millis(120_000);
        let claimed = store.claim_deliveries(T0, lease, 10, &[]).await.unwrap();
        assert_eq!(claimed.len(), 1, "the second event waits behind the first");
        assert!(store.claim_deliveries(T0, lease, 10, &[]).await.unwrap().is_empty());
        assert!(!woken(&signal).await, "a claim woke the workers");

        store.record_attempts(vec![record(&claimed[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
        assert!(woken(&signal).await, "the session's next event is due: the workers must look");
        let next = store.claim_deliveries(T0, lease, 10, &[]).await.unwrap();
        assert_eq!(next[0].event.kind, EventKind::CompanyTestSessionStarted);
        store.record_attempts(vec![record(&next[0], T0, AttemptResult::Delivered)], &policy()).await.unwrap();
        assert!(!woken(&signal).await, "nothing moved up, nothing to look for");
    }
}
