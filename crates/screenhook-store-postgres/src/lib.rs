//! The PostgreSQL store: the same [`Store`] contract as the SQLite store, for several server
//! processes sharing one database.
//!
//! # Transactions
//! Every write runs in one READ COMMITTED transaction, and every aggregate write names the
//! version it expects (`UPDATE … WHERE version = $n`, zero rows = [`StoreError::Conflict`]);
//! a second writer of the same row waits for the first to commit and then fails its version
//! check, so two decisions on one state never both commit. Guards read the test `FOR SHARE`,
//! so the test cannot change under a change that relied on it. No transaction is ever held
//! across an HTTP call: claims commit at once (a lease plus a bumped fencing token), and
//! results are recorded in a new transaction, only under a matching token.
//!
//! A transaction chosen as a deadlock victim (or failing serialization) wrote nothing and is
//! run again, a few times, before its caller hears about it.
//!
//! Lifecycle changes ([`Store::apply`]) are committed in groups: concurrent changes share one
//! transaction and one statement per table, and fall back to a transaction each when any of
//! them fails (see the `group` module). Every rule below holds for a group as for one change.
//!
//! # Ordering under several processes
//! - **The outbox order.** [`StoredEvent::seq`] must follow commit order, but an identity
//!   column hands out numbers at insert time, so two concurrent transactions could commit out
//!   of order and a reader of `events_after` would skip the later-committing smaller number.
//!   Every transaction that inserts events takes the advisory lock [`OUTBOX_LOCK`] *shared*
//!   in the statement that inserts them, before any draws its number, and holds it to commit; `events_after` takes it *exclusive*
//!   before it reads, so it waits until every transaction that drew a position has committed
//!   or rolled back, and positions drawn after it are larger than any it sees. Readers thus
//!   never see a position before a smaller one; writers never wait for each other, so their
//!   commits (and fsyncs) still overlap. Holding one exclusive lock to commit instead capped
//!   event-producing commits at one fsync each, about 270/s on the CI machine. Each session's
//!   (and each test's) events are in commit order regardless: a later change of the same row
//!   waits for the earlier one's commit before it draws positions.
//! - **The delivery queues.** Within one (webhook, order key) only the oldest unfinished
//!   delivery is `ready`. Fan-out decides `ready` or `waiting` by looking for an unfinished
//!   delivery, and recording an attempt promotes the next `waiting` one: under READ COMMITTED
//!   the two could miss each other's uncommitted rows (a delivery left `waiting` behind
//!   nothing, or two `ready`). Every statement that reads or moves a queue — fan-out, replay,
//!   recording — first takes a transaction-level advisory lock per (webhook, order key)
//!   (`pg_advisory_xact_lock(QUEUE_LOCK_CLASS, hashtext(webhook || '|' || key))`), all of a
//!   transaction's keys in one statement in sorted order (so no two transactions deadlock on
//!   them), and reads the queue in a later statement, whose snapshot then includes whatever
//!   the previous holder committed. Different sessions never wait for each other (short of a
//!   hash collision). Cancelling, pausing and flushing a webhook's whole queue change no
//!   queue's order; they go through the webhook row instead (below).
//! - **Webhook health.** Fan-out reads its webhooks `FOR SHARE`, so a concurrent health change
//!   (which pauses the webhook's queue) or deletion either commits first and is seen, or waits
//!   and then sees the new deliveries. Failures are counted under `FOR UPDATE` on the webhook.
//! - **Claims** lock rows with `FOR UPDATE SKIP LOCKED` inside the claiming statement, so
//!   processes never wait for each other's claims; probes lock their webhook the same way,
//!   so one probe at a time goes to an unhealthy webhook across all processes.
//! - **Timers** are read by every scheduler, but firing one is a versioned change of its
//!   session: the first commit wins and the others conflict, so each fires once.
//!
//! # Handing fresh deliveries over
//! With a worker listening in this process ([`Store::local_deliveries`]), the ready deliveries a
//! commit fans out are inserted leased to this process (claim 1, `lease_until` set, so no
//! claim anywhere takes them) and handed to the worker with their events once the commit
//! returns. The common case then costs no claim, no event re-read and no wake-up; a process
//! that dies leaves leases that expire, and any process claims those deliveries again.
//!
//! # Wake-ups
//! After a commit that makes deliveries claimable (new events nobody was handed, replays,
//! recoveries, restored webhooks) the store wakes this process's workers and asks a notifier
//! task to run `pg_notify('screenhook_work', '')`; the task sends one notification for all the
//! commits since its last one. A listener task on its own connection turns each notification
//! into `notify_one()` on [`Store::work_signal`] in every process. The NOTIFY is not sent
//! inside the writing transactions because PostgreSQL serializes the commits of transactions
//! that notify. Recording attempts only wakes this process: the worker that recorded them goes
//! on draining. Polling remains the fallback (a process that dies between a commit and its
//! notification costs the others one poll interval).

mod delivery;
mod floor;
mod group;
mod write;

use std::{future::Future, pin::Pin, str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use screenhook_domain::{
    ApiKey, Change, Company, CompanyId, CompanyTestSession, DeadlineKind, EventId, EventKind, Millis, SessionId,
    TestId, Timestamp, Webhook, WebhookHealth, WebhookId,
};
use screenhook_store::reads::{Param, TextRead};
use screenhook_store::{
    Applied, AttemptRecord, AttemptRow, CertifyImported, CertifyRecord, ClaimedDelivery, DeliveryBucket,
    DeliveryFilter, DeliveryRow, Handoff, HealthPolicy, Notification, Purged, QueueStats, RESEAL_BATCH, SecretKeys,
    SeriesBuilder, Store, StoreError, StoredEvent, Timer,
};
use sqlx::{
    PgConnection, Row,
    postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow},
};
use tokio::{
    sync::{Notify, mpsc},
    task::JoinHandle,
};

/// The NOTIFY channel of due work.
pub const WORK_CHANNEL: &str = "screenhook_work";
/// The advisory lock (64-bit key space) of the outbox: shared by each transaction from
/// inserting its events to its commit, exclusive for a reader of `events_after`.
pub const OUTBOX_LOCK: i64 = 0x5343_5245_454e_4f42;
/// The class of the per-(webhook, order key) advisory locks (two-int key space, which does
/// not overlap the 64-bit one).
pub const QUEUE_LOCK_CLASS: i32 = 0x5348;

/// How long `ping` (`/readyz`) waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a transaction that deadlocked (and so wrote nothing) is tried again.
const DEADLOCK_RETRIES: u32 = 5;
/// The `aggregate` of the conflict reported for a deadlock or a serialization failure.
const RETRYABLE: &str = "transaction";

/// How to connect.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The pool's size. The listener of work notifications holds one more connection.
    pub max_connections: u32,
    /// Run the embedded migrations at connect. Off when an operator runs `screenhook migrate`
    /// separately, so that several processes starting at once need no DDL rights.
    pub migrate: bool,
    /// The schema to use (`search_path`), for example a schema per test; `None` keeps the
    /// role's default.
    pub schema: Option<String>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { max_connections: 10, migrate: true, schema: None }
    }
}

/// The PostgreSQL implementation of [`screenhook_store::Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    work: Arc<Notify>,
    /// Asks the notifier task to tell every process that work is due.
    announce: Arc<Notify>,
    /// Seals webhook secrets on their way in and opens them on their way out. Every process
    /// sharing the database must have the same keys.
    keys: Arc<SecretKeys>,
    /// Where the writers hand fresh deliveries to this process's worker.
    handoff: Arc<Handoff>,
    /// Changes on their way to the group-commit writers (see [`group`]).
    writes: mpsc::Sender<group::Pending>,
    /// Where this process's next claim starts (see [`floor`]).
    claim_floor: Arc<std::sync::Mutex<floor::ClaimFloor>>,
    _tasks: Arc<AbortOnDrop>,
}

/// Stops the listener and notifier tasks with the last clone of the store.
struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

pub(crate) type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

impl PgStore {
    /// Connects a pool to `url` (`postgres://user:password@host:port/database`), runs the
    /// migrations when asked to, and starts listening for work notifications. Must be called
    /// inside a tokio runtime. Webhook secrets are sealed with `keys`.
    pub async fn connect(url: &str, options: PgOptions, keys: SecretKeys) -> Result<PgStore, StoreError> {
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::Unavailable(format!("the database URL is not valid: {err}")))?;
        if let Some(schema) = &options.schema {
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect.clone())
            .await
            .map_err(db)?;
        let store = PgStore::with_pool(pool, connect, keys).await?;
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    async fn with_pool(pool: PgPool, connect: PgConnectOptions, keys: SecretKeys) -> Result<PgStore, StoreError> {
        // Its own one-connection pool: a LISTEN connection is held for good and must not
        // take a slot of the pool that serves requests.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with(connect)
            .await
            .map_err(db)?;
        let mut listener = PgListener::connect_with(&listen_pool).await.map_err(db)?;
        listener.listen(WORK_CHANNEL).await.map_err(db)?;
        let work = Arc::new(Notify::new());
        let announce = Arc::new(Notify::new());
        let mut tasks =
            vec![tokio::spawn(listen(listener, work.clone())), tokio::spawn(notify(pool.clone(), announce.clone()))];
        let (writes, queue) = mpsc::channel(group::MAX_BATCH * group::WRITERS);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let handoff = Arc::new(Handoff::default());
        let wake = group::Wake { work: work.clone(), announce: announce.clone(), handoff: handoff.clone() };
        let commits = Arc::new(group::Commits::default());
        for _ in 0..group::WRITERS {
            tasks.push(tokio::spawn(group::writer(pool.clone(), queue.clone(), commits.clone(), wake.clone())));
        }
        Ok(PgStore {
            pool,
            work,
            announce,
            handoff,
            keys: Arc::new(keys),
            writes,
            claim_floor: Arc::default(),
            _tasks: Arc::new(AbortOnDrop(tasks)),
        })
    }

    /// A webhook row, its secrets opened.
    fn opened(&self, row: &PgRow) -> Result<(Webhook, WebhookHealth), StoreError> {
        let (webhook, health) = delivery::decode_webhook(row)?;
        Ok((self.keys.open_webhook(webhook)?, health))
    }

    fn floor(&self) -> std::sync::MutexGuard<'_, floor::ClaimFloor> {
        self.claim_floor.lock().expect("not poisoned")
    }

    /// Deliveries were made due: wake this process's workers now and every process's soon,
    /// and look for them from the head of the queue (they may be behind the floor).
    fn work_is_due(&self) {
        self.floor().clear();
        self.work.notify_one();
        self.announce.notify_one();
    }

    /// Runs the embedded migrations. Safe to run from several processes at once: the
    /// migrator holds an advisory lock while it works.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|err| StoreError::Unavailable(format!("migrating the database: {err}")))
    }

    async fn transaction<A: Sync + ?Sized, T>(
        &self,
        arg: &A,
        work: for<'c> fn(&'c mut PgConnection, &'c A) -> Work<'c, T>,
    ) -> Result<T, StoreError> {
        in_transaction(&self.pool, Plans::Chosen, arg, work).await
    }
}

/// How the statements of a transaction are planned.
#[derive(Clone, Copy)]
pub(crate) enum Plans {
    /// PostgreSQL's choice, call by call.
    Chosen,
    /// One generic plan per statement and connection (made again when the statistics change,
    /// as autovacuum's analyze does), for the batched writes and records: their statements
    /// have one shape whatever the batch (its rows go in as arrays), and left to choose,
    /// PostgreSQL plans many of them again at every call, a quarter of its CPU under load.
    /// Not for claims, whose best plan depends on where the floor is.
    Generic,
}

/// Runs `work` in a transaction and commits it, running it again when it was chosen as a
/// deadlock victim (it then wrote nothing).
async fn in_transaction<A: Sync + ?Sized, T>(
    pool: &PgPool,
    plans: Plans,
    arg: &A,
    work: for<'c> fn(&'c mut PgConnection, &'c A) -> Work<'c, T>,
) -> Result<T, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut tx = match plans {
            Plans::Chosen => pool.begin().await,
            // One round trip: the simple protocol takes both statements at once.
            Plans::Generic => pool.begin_with("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan").await,
        }
        .map_err(db)?;
        let result = match work(&mut tx, arg).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(db),
            Err(err) => Err(err),
        };
        match result {
            Err(StoreError::Conflict { aggregate: RETRYABLE, id, .. }) if tries < DEADLOCK_RETRIES => {
                tracing::debug!(sqlstate = %id, tries, "transaction rolled back by the database; running it again");
            }
            other => return other,
        }
    }
}

/// Turns notifications on [`WORK_CHANNEL`] into wake-ups of this process's workers.
async fn listen(mut listener: PgListener, work: Arc<Notify>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => work.notify_one(),
            // The connection dropped and is being re-established: notifications sent
            // meanwhile are lost, so look for work once.
            Ok(None) => work.notify_one(),
            Err(err) => {
                tracing::warn!(%err, "listening for work notifications failed; polling until it reconnects");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sends one NOTIFY on [`WORK_CHANNEL`] for every burst of commits that made work due.
async fn notify(pool: PgPool, announce: Arc<Notify>) {
    loop {
        // Signals arriving while a NOTIFY is sent leave one permit: one more NOTIFY covers them.
        announce.notified().await;
        if let Err(err) = sqlx::query("SELECT pg_notify($1, '')").bind(WORK_CHANNEL).execute(&pool).await {
            tracing::warn!(%err, "could not notify the other processes of due work; they will poll");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Maps a database error. A deadlock or serialization failure rolled the transaction back
/// whole: it is a conflict with a concurrent transaction, and [`PgStore::transaction`] runs
/// the work again.
pub(crate) fn db(err: sqlx::Error) -> StoreError {
    if let Some(code) = err.as_database_error().and_then(|e| e.code())
        && (code == "40P01" || code == "40001")
    {
        return StoreError::Conflict {
            aggregate: RETRYABLE,
            id: code.into_owned(),
            expected: "no concurrent transaction in its way".into(),
        };
    }
    StoreError::Unavailable(err.to_string())
}

pub(crate) fn decode_event(row: &PgRow) -> Result<StoredEvent, StoreError> {
    let corrupt = |what: &str, err: &dyn std::fmt::Display| StoreError::Corrupt(format!("event {what}: {err}"));
    let kind: &str = row.try_get("kind").map_err(db)?;
    let payload: &str = row.try_get("payload").map_err(db)?;
    let session_id: Option<String> = row.try_get("session_id").map_err(db)?;
    let test_id: Option<String> = row.try_get("test_id").map_err(db)?;
    Ok(StoredEvent {
        seq: row.try_get("seq").map_err(db)?,
        id: EventId::parse(row.try_get::<String, _>("id").map_err(db)?).map_err(|e| corrupt("id", &e))?,
        kind: EventKind::from_name(kind).ok_or_else(|| corrupt("kind", &kind))?,
        triggered_on: Timestamp::from_millis(row.try_get("triggered_on").map_err(db)?),
        company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(db)?)
            .map_err(|e| corrupt("company id", &e))?,
        session_id: session_id.map(SessionId::parse).transpose().map_err(|e| corrupt("session id", &e))?,
        test_id: test_id.map(TestId::parse).transpose().map_err(|e| corrupt("test id", &e))?,
        payload: serde_json::from_str(payload).map_err(|e| corrupt("payload", &e))?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, company_id, session_id, test_id, kind, triggered_on, payload";

#[async_trait]
impl Store for PgStore {
    async fn read_texts(&self, read: TextRead) -> Result<Vec<String>, StoreError> {
        let (sql, params) = read.into_parts();
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for param in params {
            query = match param {
                Param::Text(text) => query.bind(text),
                Param::Int(int) => query.bind(int),
            };
        }
        query.fetch_all(&self.pool).await.map_err(db)
    }

    fn open_session(&self, stored: CompanyTestSession) -> Result<CompanyTestSession, StoreError> {
        self.keys.open_session(stored)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Bounded well below the pool's acquire timeout: a load balancer's health check should
        // hear "not ready" rather than time out.
        let answer = tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool)).await;
        match answer {
            Ok(done) => done.map(drop).map_err(db),
            Err(_) => Err(StoreError::Unavailable(format!("the database did not answer within {PING_TIMEOUT:?}"))),
        }
    }

    fn work_signal(&self) -> Arc<Notify> {
        self.work.clone()
    }

    fn local_deliveries(&self, lease: Millis) -> Option<mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>> {
        Some(self.handoff.register(lease))
    }

    async fn insert_company(&self, company: &Company) -> Result<(), StoreError> {
        write::insert_company(&self.pool, company).await
    }

    async fn update_company(&self, company: &Company) -> Result<(), StoreError> {
        write::update_company(&self.pool, company).await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        write::insert_api_key(&self.pool, key).await
    }

    async fn revoke_api_key(&self, company: &CompanyId, public_id: &str, at: Timestamp) -> Result<bool, StoreError> {
        self.transaction(&(company, public_id, at), |conn, (company, public_id, at)| {
            Box::pin(write::revoke_api_key(conn, company, public_id, *at))
        })
        .await
    }

    async fn apply(&self, mut change: Change) -> Result<Applied, StoreError> {
        self.keys.seal_change(&mut change)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Unavailable("the store's writers have stopped".into());
        self.writes.send(group::Pending { change, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn import_certify(
        &self,
        mut records: Vec<CertifyRecord>,
    ) -> Result<Vec<Result<CertifyImported, StoreError>>, StoreError> {
        self.keys.seal_records(&mut records)?;
        self.transaction(records.as_slice(), |conn, records| Box::pin(write::import_certify(conn, records))).await
    }

    async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<Timer>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, company_id, kind, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at, session_id LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                let corrupt = |err: &dyn std::fmt::Display| StoreError::Corrupt(format!("timer: {err}"));
                let kind: &str = row.try_get("kind").map_err(db)?;
                Ok(Timer {
                    session_id: SessionId::parse(row.try_get::<String, _>("session_id").map_err(db)?)
                        .map_err(|e| corrupt(&e))?,
                    company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(db)?)
                        .map_err(|e| corrupt(&e))?,
                    kind: DeadlineKind::parse(kind).ok_or_else(|| corrupt(&kind))?,
                    due: Timestamp::from_millis(row.try_get("due_at").map_err(db)?),
                })
            })
            .collect()
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers").fetch_one(&self.pool).await.map_err(db)?;
        Ok(due.map(Timestamp::from_millis))
    }

    async fn events_after(&self, after_seq: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self
            .transaction(&(after_seq, limit), |conn, (after_seq, limit)| {
                Box::pin(async move {
                    // Waits for every transaction still inserting events (see the crate docs);
                    // the read is a later statement, so its snapshot includes them.
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(OUTBOX_LOCK)
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
                    ));
                    sqlx::query(sql).bind(after_seq).bind(i64::from(*limit)).fetch_all(&mut *conn).await.map_err(db)
                })
            })
            .await?;
        rows.iter().map(decode_event).collect()
    }

    async fn events_of_session(
        &self,
        company: &CompanyId,
        session: &SessionId,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE session_id = $1 AND company_id = $2 ORDER BY seq"
        ));
        let rows =
            sqlx::query(sql).bind(session.as_str()).bind(company.as_str()).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(decode_event).collect()
    }

    async fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let sealed = self.keys.seal_webhook(webhook)?;
        self.transaction(&sealed, |conn, webhook| Box::pin(delivery::insert_webhook(conn, webhook))).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let sealed = self.keys.seal_webhook(webhook)?;
        self.transaction(&sealed, |conn, webhook| Box::pin(delivery::update_webhook(conn, webhook))).await
    }

    async fn delete_webhook(&self, company: &CompanyId, id: &WebhookId) -> Result<bool, StoreError> {
        self.transaction(&(company, id), |conn, (company, id)| Box::pin(delivery::delete_webhook(conn, company, id)))
            .await
    }

    async fn webhook(
        &self,
        company: &CompanyId,
        id: &WebhookId,
    ) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND company_id = $2 AND NOT deleted",
            delivery::WEBHOOK_COLUMNS
        ));
        let row =
            sqlx::query(sql).bind(id.as_str()).bind(company.as_str()).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(|row| self.opened(row)).transpose()
    }

    async fn webhooks(&self, company: &CompanyId) -> Result<Vec<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE company_id = $1 AND NOT deleted ORDER BY created_at, id",
            delivery::WEBHOOK_COLUMNS
        ));
        let rows = sqlx::query(sql).bind(company.as_str()).fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(|row| self.opened(row)).collect()
    }

    async fn webhook_unscoped(&self, id: &WebhookId) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND NOT deleted",
            delivery::WEBHOOK_COLUMNS
        ));
        let row = sqlx::query(sql).bind(id.as_str()).fetch_optional(&self.pool).await.map_err(db)?;
        row.as_ref().map(|row| self.opened(row)).transpose()
    }

    async fn reseal_webhooks(&self) -> Result<u64, StoreError> {
        self.transaction(&*self.keys, |conn, keys| Box::pin(delivery::reseal_secrets(conn, keys))).await
    }

    async fn reseal_sessions(&self) -> Result<u64, StoreError> {
        // The scan locks nothing; each batch locks only its stale rows, in its own transaction.
        let (mut sessions, mut after) = (0, String::new());
        loop {
            let stale: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM sessions WHERE id > $1 AND strpos(doc, $2) = 0 ORDER BY id LIMIT $3",
            )
            .bind(&after)
            .bind(self.keys.current_session_marker())
            .bind(i64::from(RESEAL_BATCH))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
            let Some(last) = stale.last().cloned() else { break };
            let batch = (self.keys.clone(), stale);
            sessions +=
                self.transaction(&batch, |conn, (keys, ids)| Box::pin(write::reseal_sessions(conn, keys, ids))).await?;
            after = last;
        }
        Ok(sessions)
    }

    async fn restore_webhook(&self, company: &CompanyId, id: &WebhookId, now: Timestamp) -> Result<bool, StoreError> {
        let restored = self
            .transaction(&(company, id, now), |conn, (company, id, now)| {
                Box::pin(delivery::restore_webhook(conn, company, id, *now))
            })
            .await?;
        if restored {
            self.work_is_due();
        }
        Ok(restored)
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Millis,
        limit: u32,
        saturated: &[WebhookId],
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // A claim that leaves webhooks out passes their due rows by, so it neither starts at
        // the floor nor moves it: behind the floor, everything due was taken.
        let floored = saturated.is_empty();
        let started = std::time::Instant::now();
        let after = if floored { self.floor().get(started) } else { None };
        let (mut claimed, mut last) = delivery::claim_ready(&self.pool, now, lease, limit, saturated, after).await?;
        if after.is_some() && claimed.len() < limit as usize {
            // Past the floor the backlog ran out: what is due behind it is taken too.
            let rest = limit - claimed.len() as u32;
            let (behind, _) = delivery::claim_ready(&self.pool, now, lease, rest, saturated, None).await?;
            claimed.extend(behind);
            last = None;
        }
        if floored {
            self.floor().claimed(started, claimed.len() == limit as usize, last);
        }
        claimed.extend(
            self.transaction(&(now, lease), |conn, (now, lease)| Box::pin(delivery::claim_probes(conn, *now, *lease)))
                .await?,
        );
        let seqs: Vec<i64> = claimed.iter().map(|c| c.event_seq).collect();
        let events = delivery::events_by_seq(&self.pool, &seqs).await?;
        delivery::assemble(claimed, &events)
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>, policy: &HealthPolicy) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let readied = in_transaction(&self.pool, Plans::Generic, &(attempts, policy), |conn, (attempts, policy)| {
            Box::pin(delivery::record(conn, attempts, policy))
        })
        .await?;
        // The next deliveries of these sessions are ready now (or a paused queue is due
        // again): this process's workers recorded them and go on draining. Nothing else a
        // record does makes work due now, and a claim for nothing costs a walk past the
        // backlogs of every webhook left out of it.
        if !readied.is_empty() {
            self.floor().lower(readied);
            self.work.notify_one();
        }
        Ok(())
    }

    async fn release_deliveries(&self, claimed: &[(i64, i64)]) -> Result<(), StoreError> {
        if claimed.is_empty() {
            return Ok(());
        }
        let (ids, claims): (Vec<i64>, Vec<i64>) = claimed.iter().copied().unzip();
        let released = sqlx::query(
            "UPDATE deliveries d SET lease_until = 0 FROM unnest($1::int8[], $2::int8[]) AS v(id, claim) \
             WHERE d.id = v.id AND d.claim = v.claim AND d.state = 'ready'",
        )
        .bind(ids)
        .bind(claims)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if released > 0 {
            self.work_is_due();
        }
        Ok(())
    }

    async fn deliveries(&self, company: &CompanyId, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = delivery::delivery_filter_sql();
        let rows = delivery::bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), company, filter)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(delivery::decode_delivery).collect()
    }

    async fn attempts(&self, company: &CompanyId, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.delivery_id, a.attempt, a.at, a.status, a.error_class, a.latency_ms, a.excerpt \
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
             WHERE a.delivery_id = $1 AND d.company_id = $2 ORDER BY a.id",
        )
        .bind(delivery_id)
        .bind(company.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(delivery::decode_attempt).collect()
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
        let rows = sqlx::query(delivery::DELIVERY_SERIES_SQL)
            .bind(company.as_str())
            .bind(webhook.as_str())
            .bind(since.as_millis())
            .bind(until.as_millis())
            .bind(bucket.as_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        for row in &rows {
            delivery::add_series_count(&mut series, row)?;
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
        let id = self
            .transaction(&(company, webhook, event, now), |conn, (company, webhook, event, now)| {
                Box::pin(delivery::replay(conn, company, webhook, event, *now))
            })
            .await?;
        let Some(id) = id else { return Ok(None) };
        self.work_is_due();
        let sql = sqlx::AssertSqlSafe(format!("{} WHERE d.id = $1", delivery::DELIVERY_ROW_SQL));
        let row = sqlx::query(sql).bind(id).fetch_one(&self.pool).await.map_err(db)?;
        delivery::decode_delivery(&row).map(Some)
    }

    async fn recover(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let queued = self
            .transaction(&(company, webhook, since, now), |conn, (company, webhook, since, now)| {
                Box::pin(delivery::recover(conn, company, webhook, *since, *now))
            })
            .await?;
        if queued > 0 {
            self.work_is_due();
        }
        Ok(queued)
    }

    async fn queue_stats(&self, now: Timestamp) -> Result<QueueStats, StoreError> {
        let queue: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT CASE WHEN paused THEN 'paused' WHEN state = 'waiting' THEN 'waiting' \
             WHEN lease_until > $1 THEN 'in_flight' WHEN next_attempt_at > $1 THEN 'scheduled' \
             ELSE 'due' END AS bucket, COUNT(*), MIN(created_at), MIN(GREATEST(due_at, created_at)) \
             FROM deliveries WHERE state IN ('ready', 'waiting') GROUP BY bucket",
        )
        .bind(now.as_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let webhooks: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM webhooks WHERE NOT deleted GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        QueueStats::from_rows(queue, webhooks)
    }

    async fn purge_history(&self, before: Timestamp, limit: u32) -> Result<Purged, StoreError> {
        self.transaction(&(before, limit), |conn, (before, limit)| {
            Box::pin(async move {
                // Terminal rows only, rechecked under the row lock: a replay may have queued
                // one again meanwhile.
                let (deliveries, attempts): (i64, i64) = sqlx::query_as(
                    "WITH gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries \
                       WHERE state IN ('delivered', 'failed', 'cancelled') AND finished_at < $1 \
                       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
                     AND state IN ('delivered', 'failed', 'cancelled') RETURNING id), \
                     attempts_gone AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1) \
                     SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM attempts_gone)",
                )
                .bind(before.as_millis())
                .bind(i64::from(*limit))
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
                let events = sqlx::query(
                    "DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE e.triggered_on < $1 \
                     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq) ORDER BY e.seq LIMIT $2)",
                )
                .bind(before.as_millis())
                .bind(i64::from(*limit))
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                Ok(Purged { deliveries: deliveries as u64, attempts: attempts as u64, events })
            })
        })
        .await
    }

    async fn pending_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, webhook_id, company_id, consecutive_failures, disabled, last_error, created_at \
             FROM notifications WHERE handled_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(delivery::decode_notification).collect()
    }

    async fn mark_notification(&self, id: i64, at: Timestamp, outcome: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET handled_at = $2, outcome = $3 WHERE id = $1")
            .bind(id)
            .bind(at.as_millis())
            .bind(outcome)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write, sync::Arc};

    use screenhook_domain::{
        Change, CompanyId, CompanyTestSession, DomainEvent, EventKind, Expected, Millis, SessionId, Webhook, WebhookId,
        test::{NewTest, TestCommand},
    };
    use screenhook_engine::{Clock, Engine, EngineConfig, InviteInput, SystemClock, bootstrap};
    use screenhook_store::{AttemptRecord, AttemptResult, HealthPolicy, SecretKeys, Store};
    use sqlx::Connection;

    use super::{PgOptions, PgStore};

    /// Drops the test's schema when the test ends.
    struct Schema {
        url: String,
        name: String,
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let (url, name) = (self.url.clone(), self.name.clone());
            // Drop runs inside the test's runtime, which cannot block on itself.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
                    let sql = sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
                    sqlx::query(sql).execute(&mut conn).await.ok()
                })
            })
            .join();
            if !matches!(dropped, Ok(Some(_))) {
                eprintln!("could not drop the test schema {}", self.name);
            }
        }
    }

    /// A fresh schema of `TEST_DATABASE_URL`, or `None` (with a notice) when the variable is
    /// unset.
    async fn fresh_schema() -> Option<Schema> {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            // Straight to stderr: libtest captures eprintln! of passing tests, and a skip must show.
            let _ =
                writeln!(std::io::stderr(), "skipped: set TEST_DATABASE_URL to run the PostgreSQL conformance suite");
            return None;
        };
        let name = format!("t_{}", screenhook_store::random_id("", 16).to_lowercase());
        let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect to TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test schema");
        Some(Schema { url, name })
    }

    fn test_keys() -> SecretKeys {
        SecretKeys::new(&[7; 32], &[])
    }

    /// A store of its own (a pool, like another process) on `schema`.
    async fn connect(schema: &Schema) -> PgStore {
        let options = PgOptions { max_connections: 8, migrate: true, schema: Some(schema.name.clone()) };
        PgStore::connect(&schema.url, options, test_keys()).await.expect("connect the store")
    }

    async fn fresh_store() -> Option<(Arc<dyn Store>, Schema)> {
        let schema = fresh_schema().await?;
        Some((Arc::new(connect(&schema).await), schema))
    }

    screenhook_store::conformance_tests!(fresh_store);

    /// Secrets and session tokens are ciphertext in the tables, and a key rotation is: the new
    /// key current, the old one previous, a reseal, then the old key dropped.
    #[tokio::test]
    async fn secrets_are_sealed_in_the_tables_and_survive_a_key_rotation() {
        use screenhook_domain::{Change, CompanyTestSession, Expected};
        use screenhook_store::{
            RESEAL_BATCH, Resealed,
            conformance::{seed, session_with_result, webhook},
        };
        let Some(schema) = fresh_schema().await else { return };
        let options = || PgOptions { max_connections: 2, migrate: true, schema: Some(schema.name.clone()) };
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let store = PgStore::connect(&schema.url, options(), SecretKeys::new(&old, &[])).await.unwrap();
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
        let raw: String = sqlx::query_scalar("SELECT doc FROM webhooks").fetch_one(&store.pool).await.unwrap();
        assert!(!raw.contains(&secret) && raw.contains("sealed:v1:"), "{raw}");
        let docs: Vec<String> = sqlx::query_scalar("SELECT doc FROM sessions").fetch_all(&store.pool).await.unwrap();
        for token in [pending.candidate_token.as_str(), "m0007.link-7", "report-7"] {
            assert!(!docs.iter().any(|doc| doc.contains(token)), "{token} is in the table");
        }

        let rotated = PgStore::connect(&schema.url, options(), SecretKeys::new(&new, &[old])).await.unwrap();
        assert_eq!(rotated.webhook_unscoped(&hook.id).await.unwrap().unwrap().0.secret, hook.secret);
        assert_eq!(rotated.session_unscoped(&many[7].id).await.unwrap().as_ref(), Some(&many[7]));
        let everything = Resealed { webhooks: 1, sessions: u64::from(RESEAL_BATCH) + 21 };
        assert_eq!(rotated.reseal_secrets().await.unwrap(), everything);
        assert_eq!(rotated.reseal_secrets().await.unwrap(), Resealed::default(), "nothing left under the old key");

        let only_new = PgStore::connect(&schema.url, options(), SecretKeys::new(&new, &[])).await.unwrap();
        assert_eq!(only_new.webhook_unscoped(&hook.id).await.unwrap().unwrap().0.secret, hook.secret);
        assert_eq!(only_new.session_unscoped(&pending.id).await.unwrap(), Some(pending.clone()));
        let only_old = PgStore::connect(&schema.url, options(), SecretKeys::new(&old, &[])).await.unwrap();
        let err = only_old.webhook_unscoped(&hook.id).await.unwrap_err().to_string();
        assert!(err.contains("which is not configured"), "{err}");
        let err = only_old.session_unscoped(&pending.id).await.unwrap_err().to_string();
        assert!(err.contains("test session s1: its candidate token is sealed with key"), "{err}");
    }

    /// Migrating a database that already holds sessions fills their new verification column
    /// from their documents.
    #[tokio::test]
    async fn sessions_written_before_the_console_get_their_verification_status_from_the_document() {
        let Some(schema) = fresh_schema().await else { return };
        let options = PgOptions { max_connections: 2, migrate: false, schema: Some(schema.name.clone()) };
        let store = PgStore::connect(&schema.url, options, test_keys()).await.expect("connect the store");
        // The schema as the build before the console left it: the first migration alone.
        let earlier = std::env::temp_dir().join(format!("screenhook-{}", schema.name));
        std::fs::create_dir_all(&earlier).unwrap();
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/0001_schema.sql"),
            earlier.join("0001_schema.sql"),
        )
        .unwrap();
        let first = sqlx::migrate::Migrator::new(earlier.as_path()).await.unwrap();
        first.run(&store.pool).await.unwrap();
        std::fs::remove_dir_all(&earlier).unwrap();
        for (id, verification) in [("s1", r#""notVerified""#), ("s2", "null"), ("s3", r#""pending""#)] {
            sqlx::query(
                "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, create_date, doc) \
                 VALUES ($1, 'acme', 't', 1, 'over', 'a@example.com', 0, $2)",
            )
            .bind(id)
            .bind(format!(r#"{{"id":"{id}","verification_status":{verification}}}"#))
            .execute(&store.pool)
            .await
            .unwrap();
        }
        store.migrate().await.unwrap();
        let backfilled: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, verification_status FROM sessions ORDER BY id")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        let expected = [("s1", Some("notVerified")), ("s2", None), ("s3", Some("pending"))];
        assert_eq!(backfilled, expected.map(|(id, v)| (id.to_owned(), v.map(str::to_owned))));
    }

    /// Stores on their own pools (as separate processes would) fan a stream of events per
    /// session out and record their deliveries concurrently: no committed state ever has two
    /// `ready` deliveries in one session's queue, or `waiting` ones behind none, each session's
    /// deliveries are claimed in firing order, and a cursor over `events_after` skips nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_keep_each_session_queue_in_order_and_the_outbox_gap_free() {
        const SESSIONS: usize = 16;
        const CHANGES: u64 = 100;
        let Some(schema) = fresh_schema().await else { return };
        let writer: Arc<dyn Store> = Arc::new(connect(&schema).await);
        let recorders: Vec<Arc<dyn Store>> = vec![writer.clone(), Arc::new(connect(&schema).await)];
        let clock = Arc::new(SystemClock);
        let (_, _) = bootstrap::ensure_sandbox(&*writer, &*clock).await.unwrap().unwrap();
        let company = CompanyId::parse(bootstrap::SANDBOX_COMPANY).unwrap();
        let engine = Engine::new(
            writer.clone(),
            clock.clone(),
            EngineConfig { public_url: "http://127.0.0.1:8740".into(), integrity_review_delay: Millis::SECOND },
        );
        let test = engine
            .create_test(
                &company,
                TestCommand::Create(NewTest {
                    id: screenhook_engine::commands::new_test_id(),
                    company_id: company.clone(),
                    title: "Queues".into(),
                    external_title: "Queues".into(),
                    internal_description: None,
                    proctored: false,
                    duration: Millis::minutes(60),
                    default_expiration: None,
                    labels: vec![],
                }),
            )
            .await
            .unwrap()
            .0;
        let now = Clock::now(&*clock);
        writer
            .insert_webhook(&Webhook {
                id: WebhookId::parse("wh_queues").unwrap(),
                company_id: company.clone(),
                url: "https://example.com/hooks".into(),
                events: EventKind::ALL.to_vec(),
                secret: None,
                retired_secrets: Vec::new(),
                owner_emails: vec![],
                custom_headers: vec![],
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();

        // Writers: each session changes CHANGES times, each change firing one event.
        let mut writing = Vec::new();
        for n in 0..SESSIONS {
            let input = InviteInput {
                test_id: test.id.clone(),
                candidate_first_name: "Queue".into(),
                candidate_last_name: n.to_string(),
                candidate_email: format!("queue{n}@example.com"),
                external_id: None,
                expire_duration: None,
                custom_duration: None,
                integrations: Default::default(),
                prefer_existing: false,
            };
            let mut session = engine.invite(&company, input).await.unwrap().session;
            let store = writer.clone();
            writing.push(tokio::spawn(async move {
                for _ in 0..CHANGES {
                    let next = CompanyTestSession { version: session.version + 1, ..session.clone() };
                    let event = DomainEvent {
                        kind: EventKind::PreScreenIntegrityReviewUpdated,
                        triggered_on: now,
                        company_id: next.company_id.clone(),
                        session_id: Some(next.id.clone()),
                        test_id: Some(next.test_id.clone()),
                        payload: serde_json::json!({ "version": next.version }),
                    };
                    let expected = Expected::Version(session.version);
                    store
                        .apply(Change {
                            sessions: vec![(next.clone(), expected)],
                            events: vec![event],
                            ..Change::default()
                        })
                        .await
                        .unwrap();
                    session = next;
                }
            }));
        }

        // A reader follows the outbox with a cursor, on its own pool: it must never skip an
        // event that commits after a larger position was read.
        let follower: Arc<dyn Store> = Arc::new(connect(&schema).await);
        let outbox = SESSIONS * (CHANGES as usize + 1);
        let following = tokio::spawn(async move {
            let (mut cursor, mut seen) = (0, Vec::new());
            while seen.len() < outbox {
                let page = follower.events_after(cursor, 50).await.unwrap();
                cursor = page.last().map_or(cursor, |e| e.seq);
                if page.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                seen.extend(page.into_iter().filter(|e| e.session_id.is_some()).map(|e| e.seq));
            }
            seen
        });

        // Recorders: claim and record as fast as they can, each on its own pool.
        let total = SESSIONS * (CHANGES as usize + 1);
        let delivered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let claimed_seqs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let policy = HealthPolicy {
            probe_delays: vec![Millis::SECOND],
            disable_after: 100,
            email_after: vec![],
            email_every_from: 100,
        };
        let mut recording = Vec::new();
        for store in recorders {
            let (delivered, claimed_seqs, policy) = (delivered.clone(), claimed_seqs.clone(), policy.clone());
            recording.push(tokio::spawn(async move {
                while delivered.load(std::sync::atomic::Ordering::Relaxed) < total {
                    let at = Clock::now(&SystemClock);
                    let claims = store.claim_deliveries(at, Millis::minutes(1), 16, &[]).await.unwrap();
                    let mut attempts = Vec::new();
                    for claim in &claims {
                        claimed_seqs.lock().unwrap().push((claim.event.session_id.clone().unwrap(), claim.event.seq));
                        attempts.push(AttemptRecord {
                            delivery_id: claim.delivery_id,
                            claim: claim.claim,
                            webhook_id: claim.webhook_id.clone(),
                            at,
                            status: Some(200),
                            error_class: None,
                            latency_ms: 1,
                            excerpt: String::new(),
                            result: AttemptResult::Delivered,
                        });
                    }
                    delivered.fetch_add(attempts.len(), std::sync::atomic::Ordering::Relaxed);
                    store.record_attempts(attempts, &policy).await.unwrap();
                    if claims.is_empty() {
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                }
            }));
        }

        // Meanwhile, every committed state keeps the invariant.
        let mut watcher = sqlx::PgConnection::connect(&schema.url).await.unwrap();
        let search_path = format!("SET search_path TO {}", schema.name);
        sqlx::query(sqlx::AssertSqlSafe(search_path)).execute(&mut watcher).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while delivered.load(std::sync::atomic::Ordering::Relaxed) < total {
            assert!(std::time::Instant::now() < deadline, "a queue is stuck: not every delivery was claimed");
            let broken: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT order_key, count(*) FILTER (WHERE state = 'ready'), count(*) FILTER (WHERE state = 'waiting') \
                 FROM deliveries WHERE state IN ('ready', 'waiting') GROUP BY order_key \
                 HAVING count(*) FILTER (WHERE state = 'ready') <> 1",
            )
            .fetch_all(&mut watcher)
            .await
            .unwrap();
            assert!(broken.is_empty(), "queues with other than one ready delivery: {broken:?}");
        }
        for task in writing.into_iter().chain(recording) {
            task.await.unwrap();
        }
        let followed = tokio::time::timeout(std::time::Duration::from_secs(10), following)
            .await
            .expect("the cursor skipped an event: it never saw them all")
            .unwrap();
        let stored: Vec<i64> = writer
            .events_after(0, u32::MAX)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.session_id.is_some())
            .map(|e| e.seq)
            .collect();
        assert_eq!(followed, stored, "the cursor saw every event, in order");
        let claimed = claimed_seqs.lock().unwrap().clone();
        assert_eq!(claimed.len(), total, "each delivery claimed once");
        let mut last: std::collections::HashMap<SessionId, i64> = std::collections::HashMap::new();
        for (session, seq) in claimed {
            let previous = last.insert(session.clone(), seq).unwrap_or(0);
            assert!(previous < seq, "session {session}: event {seq} claimed after {previous}");
        }
    }
}
