//! The embedded SQLite store: screenhook's default, one file and no setup.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous=FULL`: a commit is fsync'ed before the
//! caller hears about it, so an acknowledged transition survives power loss, not only a crash
//! of the process (`NORMAL` would survive `kill -9` but may lose the last commits on power
//! loss). `busy_timeout` is 5 s, and every write transaction starts with `BEGIN IMMEDIATE`, so
//! a transaction never has to upgrade a read lock into a write lock half-way through.
//!
//! # Group commit
//! SQLite allows one writer at a time, and a durable commit costs an fsync. All writes therefore
//! go through a single writer task that takes every change waiting in its queue (up to
//! [`MAX_BATCH`]), applies each inside its own savepoint and commits them together: one fsync
//! for the whole batch. A change whose version check fails is rolled back to its savepoint
//! alone; the others still commit. Callers wait until the batch holding their change is durable.
//! Reads use a separate pool of connections, which WAL lets run beside the writer.
//!
//! # Layout
//! - `writer`: the writer task, its batch loop and the SQL of every write.
//! - this file: opening the database, migrations, and the reads.

mod batch;
mod delivery;
mod writer;

use std::{future::Future, path::Path, pin::Pin, str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use screenhook_domain::{
    ApiKey, Change, Company, CompanyId, CompanyTest, CompanyTestSession, DeadlineKind, EventId, EventKind, FrameworkId,
    InterviewId, LiveInterview, Millis, SessionId, TestId, Timestamp, Webhook, WebhookHealth, WebhookId,
};
use screenhook_store::{
    Applied, AtsIdType, AttemptRecord, AttemptRow, ClaimedDelivery, DeliveryFilter, DeliveryRow, HealthPolicy,
    Notification, Page, StoreError, StoredEvent, Timer,
};
use serde::de::DeserializeOwned;
use sqlx::{
    Row, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
};
use tokio::sync::{Notify, mpsc, oneshot};

pub use writer::MAX_BATCH;
use writer::{Completion, Reply, WriteJob};

/// The SQLite implementation of [`screenhook_store::Store`].
#[derive(Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
    work: Arc<Notify>,
    handoff: Arc<writer::Handoff>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file, runs the embedded migrations and starts
    /// the writer task. Must be called inside a tokio runtime.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let options = connect_options(path)?;
        let mut write_conn = sqlx::ConnectOptions::connect(&options).await.map_err(unavailable)?;
        sqlx::migrate!("./migrations")
            .run(&mut write_conn)
            .await
            .map_err(|err| StoreError::Unavailable(format!("migrating {}: {err}", path.display())))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        let work = Arc::new(Notify::new());
        let handoff = Arc::new(writer::Handoff::default());
        tokio::spawn(writer::run(write_conn, jobs, work.clone(), handoff.clone()));
        Ok(SqliteStore { read, writer, work, handoff })
    }

    /// Runs `write` in the writer task's next batch and waits until that batch is durable.
    /// Gives back every lease: for the one process that serves this database, at start. On
    /// SQLite no other process can hold a claim, so deliveries that were in flight when the
    /// previous process died are due again at once rather than after their lease.
    pub async fn release_leases(&self) -> Result<u64, StoreError> {
        self.write(|conn| {
            Box::pin(async move {
                let released =
                    sqlx::query("UPDATE deliveries SET lease_until = 0 WHERE state = 'ready' AND lease_until > 0")
                        .execute(&mut *conn)
                        .await
                        .map_err(unavailable)?
                        .rows_affected();
                sqlx::query("UPDATE webhooks SET probe_lease_until = 0 WHERE probe_lease_until > 0")
                    .execute(&mut *conn)
                    .await
                    .map_err(unavailable)?;
                Ok(released)
            })
        })
        .await
    }

    async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>
            + Send
            + 'static,
    {
        let (to, answer) = oneshot::channel();
        let job = WriteJob::Run(Box::new(move |conn| {
            Box::pin(async move {
                let result = write(conn).await;
                Box::new(Reply { to, result }) as Box<dyn Completion>
            })
        }));
        let abandoned =
            || StoreError::Unavailable("the write was abandoned before it committed; see the server log".into());
        self.writer.send(job).await.map_err(|_| abandoned())?;
        answer.await.map_err(|_| abandoned())?
    }

    async fn fetch_docs<T: DeserializeOwned>(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = query.fetch_all(&self.read).await.map_err(unavailable)?;
        rows.iter().map(|row| decode_doc(row)).collect()
    }

    async fn fetch_doc<T: DeserializeOwned>(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Option<T>, StoreError> {
        let row = query.fetch_optional(&self.read).await.map_err(unavailable)?;
        row.as_ref().map(decode_doc).transpose()
    }
}

fn connect_options(path: &Path) -> Result<SqliteConnectOptions, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite:")
        .map_err(unavailable)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    Ok(options)
}

/// Compares secrets without an early exit, so timing does not tell how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn decode_doc<T: DeserializeOwned>(row: &SqliteRow) -> Result<T, StoreError> {
    let doc: &str = row.try_get("doc").map_err(unavailable)?;
    serde_json::from_str(doc).map_err(|err| StoreError::Corrupt(err.to_string()))
}

pub(crate) fn decode_event(row: &SqliteRow) -> Result<StoredEvent, StoreError> {
    let corrupt = |what: &str, err: &dyn std::fmt::Display| StoreError::Corrupt(format!("event {what}: {err}"));
    let kind: &str = row.try_get("kind").map_err(unavailable)?;
    let payload: &str = row.try_get("payload").map_err(unavailable)?;
    let session_id: Option<String> = row.try_get("session_id").map_err(unavailable)?;
    let test_id: Option<String> = row.try_get("test_id").map_err(unavailable)?;
    Ok(StoredEvent {
        seq: row.try_get("seq").map_err(unavailable)?,
        id: EventId::parse(row.try_get::<String, _>("id").map_err(unavailable)?).map_err(|e| corrupt("id", &e))?,
        kind: EventKind::from_name(kind).ok_or_else(|| corrupt("kind", &kind))?,
        triggered_on: Timestamp::from_millis(row.try_get("triggered_on").map_err(unavailable)?),
        company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(unavailable)?)
            .map_err(|e| corrupt("company id", &e))?,
        session_id: session_id.map(SessionId::parse).transpose().map_err(|e| corrupt("session id", &e))?,
        test_id: test_id.map(TestId::parse).transpose().map_err(|e| corrupt("test id", &e))?,
        payload: serde_json::from_str(payload).map_err(|e| corrupt("payload", &e))?,
    })
}

const EVENT_COLUMNS: &str = "seq, id, company_id, session_id, test_id, kind, triggered_on, payload";

#[async_trait]
impl screenhook_store::Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await.map_err(unavailable)?;
        if self.writer.is_closed() {
            return Err(StoreError::Unavailable("the writer task has stopped".into()));
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
        self.write(move |conn| Box::pin(async move { writer::insert_company(conn, &company).await })).await
    }

    async fn update_company(&self, company: &Company) -> Result<(), StoreError> {
        let company = company.clone();
        self.write(move |conn| Box::pin(async move { writer::update_company(conn, &company).await })).await
    }

    async fn company(&self, id: &CompanyId) -> Result<Option<Company>, StoreError> {
        self.fetch_doc(sqlx::query("SELECT doc FROM companies WHERE id = $1").bind(id.as_str())).await
    }

    async fn companies(&self) -> Result<Vec<Company>, StoreError> {
        self.fetch_docs(sqlx::query("SELECT doc FROM companies ORDER BY created_at, id")).await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.write(move |conn| Box::pin(async move { writer::insert_api_key(conn, &key).await })).await
    }

    async fn api_key(&self, public_id: &str) -> Result<Option<ApiKey>, StoreError> {
        self.fetch_doc(sqlx::query("SELECT doc FROM api_keys WHERE public_id = $1").bind(public_id)).await
    }

    async fn api_keys(&self, company: &CompanyId) -> Result<Vec<ApiKey>, StoreError> {
        self.fetch_docs(
            sqlx::query("SELECT doc FROM api_keys WHERE company_id = $1 ORDER BY created_at, public_id")
                .bind(company.as_str()),
        )
        .await
    }

    async fn revoke_api_key(&self, company: &CompanyId, public_id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let (company, public_id) = (company.clone(), public_id.to_owned());
        self.write(move |conn| Box::pin(async move { writer::revoke_api_key(conn, &company, &public_id, at).await }))
            .await
    }

    async fn test(&self, company: &CompanyId, id: &TestId) -> Result<Option<CompanyTest>, StoreError> {
        self.fetch_doc(
            sqlx::query("SELECT doc FROM tests WHERE id = $1 AND company_id = $2")
                .bind(id.as_str())
                .bind(company.as_str()),
        )
        .await
    }

    async fn tests(&self, company: &CompanyId) -> Result<Vec<CompanyTest>, StoreError> {
        self.fetch_docs(
            sqlx::query("SELECT doc FROM tests WHERE company_id = $1 AND status <> 'deleted' ORDER BY title, id")
                .bind(company.as_str()),
        )
        .await
    }

    async fn session(&self, company: &CompanyId, id: &SessionId) -> Result<Option<CompanyTestSession>, StoreError> {
        self.fetch_doc(
            sqlx::query("SELECT doc FROM sessions WHERE id = $1 AND company_id = $2")
                .bind(id.as_str())
                .bind(company.as_str()),
        )
        .await
    }

    async fn session_unscoped(&self, id: &SessionId) -> Result<Option<CompanyTestSession>, StoreError> {
        self.fetch_doc(sqlx::query("SELECT doc FROM sessions WHERE id = $1").bind(id.as_str())).await
    }

    async fn sessions_of_test(
        &self,
        company: &CompanyId,
        test: &TestId,
        page: Page,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.fetch_docs(
            sqlx::query(
                "SELECT doc FROM sessions WHERE company_id = $1 AND test_id = $2 \
                 ORDER BY finish_date IS NULL, finish_date DESC, create_date DESC, id DESC LIMIT $3 OFFSET $4",
            )
            .bind(company.as_str())
            .bind(test.as_str())
            .bind(i64::from(page.first))
            .bind(i64::from(page.offset)),
        )
        .await
    }

    async fn pending_session_for(
        &self,
        company: &CompanyId,
        test: &TestId,
        email: &str,
    ) -> Result<Option<CompanyTestSession>, StoreError> {
        self.fetch_doc(
            sqlx::query(
                "SELECT doc FROM sessions WHERE company_id = $1 AND test_id = $2 AND candidate_email = $3 \
                 AND status = 'pending' ORDER BY create_date DESC, id DESC LIMIT 1",
            )
            .bind(company.as_str())
            .bind(test.as_str())
            .bind(email),
        )
        .await
    }

    async fn sessions_of_candidate(
        &self,
        email: &str,
        framework: &FrameworkId,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.fetch_docs(
            sqlx::query(
                "SELECT doc FROM sessions WHERE candidate_email = $1 AND framework_id = $2 \
                 ORDER BY create_date, id",
            )
            .bind(email)
            .bind(framework.as_str()),
        )
        .await
    }

    async fn sessions_by_ats_id(
        &self,
        company: &CompanyId,
        id_type: AtsIdType,
        id: &str,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        let sql = match id_type {
            AtsIdType::GreenhouseApplicationId => {
                "SELECT doc FROM sessions WHERE company_id = $1 AND greenhouse_application_id = $2 ORDER BY create_date DESC, id"
            }
            AtsIdType::GreenhouseCandidateId => {
                "SELECT doc FROM sessions WHERE company_id = $1 AND greenhouse_candidate_id = $2 ORDER BY create_date DESC, id"
            }
        };
        self.fetch_docs(sqlx::query(sql).bind(company.as_str()).bind(id)).await
    }

    async fn session_by_candidate_token(&self, token: &str) -> Result<Option<CompanyTestSession>, StoreError> {
        let Some((id, _)) = token.split_once('.') else { return Ok(None) };
        let session: Option<CompanyTestSession> =
            self.fetch_doc(sqlx::query("SELECT doc FROM sessions WHERE id = $1").bind(id)).await?;
        Ok(session.filter(|s| constant_time_eq(s.candidate_token.as_bytes(), token.as_bytes())))
    }

    async fn interview(&self, company: &CompanyId, id: &InterviewId) -> Result<Option<LiveInterview>, StoreError> {
        self.fetch_doc(
            sqlx::query("SELECT doc FROM interviews WHERE id = $1 AND company_id = $2")
                .bind(id.as_str())
                .bind(company.as_str()),
        )
        .await
    }

    async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        let (to, answer) = oneshot::channel();
        let abandoned =
            || StoreError::Unavailable("the write was abandoned before it committed; see the server log".into());
        self.writer.send(WriteJob::Apply(change, to)).await.map_err(|_| abandoned())?;
        answer.await.map_err(|_| abandoned())?
    }

    async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<Timer>, StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, company_id, kind, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at, session_id LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let corrupt = |err: &dyn std::fmt::Display| StoreError::Corrupt(format!("timer: {err}"));
                let kind: &str = row.try_get("kind").map_err(unavailable)?;
                Ok(Timer {
                    session_id: SessionId::parse(row.try_get::<String, _>("session_id").map_err(unavailable)?)
                        .map_err(|e| corrupt(&e))?,
                    company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(unavailable)?)
                        .map_err(|e| corrupt(&e))?,
                    kind: DeadlineKind::parse(kind).ok_or_else(|| corrupt(&kind))?,
                    due: Timestamp::from_millis(row.try_get("due_at").map_err(unavailable)?),
                })
            })
            .collect()
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers").fetch_one(&self.read).await.map_err(unavailable)?;
        Ok(due.map(Timestamp::from_millis))
    }

    async fn events_after(&self, after_seq: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let sql =
            sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"));
        let rows =
            sqlx::query(sql).bind(after_seq).bind(i64::from(limit)).fetch_all(&self.read).await.map_err(unavailable)?;
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
        let rows = sqlx::query(sql)
            .bind(session.as_str())
            .bind(company.as_str())
            .fetch_all(&self.read)
            .await
            .map_err(unavailable)?;
        rows.iter().map(decode_event).collect()
    }

    async fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let webhook = webhook.clone();
        self.write(move |conn| Box::pin(async move { delivery::insert_webhook(conn, &webhook).await })).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let webhook = webhook.clone();
        self.write(move |conn| Box::pin(async move { delivery::update_webhook(conn, &webhook).await })).await
    }

    async fn delete_webhook(&self, company: &CompanyId, id: &WebhookId) -> Result<bool, StoreError> {
        let (company, id) = (company.clone(), id.clone());
        self.write(move |conn| Box::pin(async move { delivery::delete_webhook(conn, &company, &id).await })).await
    }

    async fn webhook(
        &self,
        company: &CompanyId,
        id: &WebhookId,
    ) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND company_id = $2 AND deleted = 0",
            delivery::WEBHOOK_COLUMNS
        ));
        let row = sqlx::query(sql)
            .bind(id.as_str())
            .bind(company.as_str())
            .fetch_optional(&self.read)
            .await
            .map_err(unavailable)?;
        row.as_ref().map(delivery::decode_webhook).transpose()
    }

    async fn webhooks(&self, company: &CompanyId) -> Result<Vec<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE company_id = $1 AND deleted = 0 ORDER BY created_at, id",
            delivery::WEBHOOK_COLUMNS
        ));
        let rows = sqlx::query(sql).bind(company.as_str()).fetch_all(&self.read).await.map_err(unavailable)?;
        rows.iter().map(delivery::decode_webhook).collect()
    }

    async fn webhook_unscoped(&self, id: &WebhookId) -> Result<Option<(Webhook, WebhookHealth)>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM webhooks WHERE id = $1 AND deleted = 0",
            delivery::WEBHOOK_COLUMNS
        ));
        let row = sqlx::query(sql).bind(id.as_str()).fetch_optional(&self.read).await.map_err(unavailable)?;
        row.as_ref().map(delivery::decode_webhook).transpose()
    }

    async fn restore_webhook(&self, company: &CompanyId, id: &WebhookId, now: Timestamp) -> Result<bool, StoreError> {
        let (company, id) = (company.clone(), id.clone());
        self.write(move |conn| Box::pin(async move { delivery::restore_webhook(conn, &company, &id, now).await })).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Millis,
        limit: u32,
        saturated: &[WebhookId],
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let saturated = saturated.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let claimed = delivery::claim(conn, now, lease, limit, &saturated).await?;
                let seqs: Vec<i64> = claimed.iter().map(|c| c.4).collect();
                let events = delivery::events_by_seq(conn, &seqs).await?;
                delivery::assemble(claimed, &events)
            })
        })
        .await
    }

    async fn record_attempts(&self, attempts: Vec<AttemptRecord>, policy: &HealthPolicy) -> Result<(), StoreError> {
        let policy = policy.clone();
        self.write(move |conn| Box::pin(async move { delivery::record(conn, &attempts, &policy).await })).await
    }

    async fn deliveries(&self, company: &CompanyId, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = delivery::delivery_filter_sql();
        let rows = delivery::bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), company, filter)
            .fetch_all(&self.read)
            .await
            .map_err(unavailable)?;
        rows.iter().map(delivery::decode_delivery).collect()
    }

    async fn attempts(&self, company: &CompanyId, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.delivery_id, a.attempt, a.at, a.status, a.error_class, a.latency_ms, a.excerpt \
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
             WHERE a.delivery_id = $1 AND d.company_id = $2 ORDER BY a.attempt",
        )
        .bind(delivery_id)
        .bind(company.as_str())
        .fetch_all(&self.read)
        .await
        .map_err(unavailable)?;
        rows.iter().map(delivery::decode_attempt).collect()
    }

    async fn replay(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        event: &EventId,
        now: Timestamp,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let (c, w, e) = (company.clone(), webhook.clone(), event.clone());
        let id = self.write(move |conn| Box::pin(async move { delivery::replay(conn, &c, &w, &e, now).await })).await?;
        let Some(id) = id else { return Ok(None) };
        let sql = sqlx::AssertSqlSafe(format!("{} WHERE d.id = $1", delivery::DELIVERY_ROW_SQL));
        let row = sqlx::query(sql).bind(id).fetch_one(&self.read).await.map_err(unavailable)?;
        delivery::decode_delivery(&row).map(Some)
    }

    async fn recover(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let (c, w) = (company.clone(), webhook.clone());
        self.write(move |conn| Box::pin(async move { delivery::recover(conn, &c, &w, since, now).await })).await
    }

    async fn pending_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, webhook_id, company_id, consecutive_failures, disabled, last_error, created_at \
             FROM notifications WHERE handled_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(unavailable)?;
        rows.iter().map(delivery::decode_notification).collect()
    }

    async fn mark_notification(&self, id: i64, at: Timestamp, outcome: &str) -> Result<(), StoreError> {
        let outcome = outcome.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE notifications SET handled_at = $2, outcome = $3 WHERE id = $1")
                    .bind(id)
                    .bind(at.as_millis())
                    .bind(outcome)
                    .execute(&mut *conn)
                    .await
                    .map(drop)
                    .map_err(unavailable)
            })
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
}
