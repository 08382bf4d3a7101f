//! The storage seam: one trait, implemented by the SQLite and the PostgreSQL stores, and one
//! conformance suite that both must pass.
//!
//! The key operation is [`Store::apply`]: it commits a [`Change`] — the aggregates a decision
//! wrote, at their new versions, and the events it fired — in **one transaction**, or nothing
//! at all. Each write names the version it expects, so two decisions made on the same state
//! cannot both commit (optimistic concurrency). The same transaction rewrites the session's
//! durable timer from [`CompanyTestSession::next_deadline`], so timers never drift from state.
//!
//! [`Store::import_certify`] is the one other way aggregates are written: history imported from
//! a Certify export, each line whole or not at all, with the old id → new id entry that makes
//! a second import write nothing, and **no events** (so no webhook hears about history).
//!
//! The reads serve the API, the workers and the web console. Two are the console's own:
//! [`Store::company_sessions`] lists a company's sessions across its tests (the Results page
//! and the Proctoring queue), and [`Store::delivery_series`] buckets a webhook's deliveries and
//! attempt latencies over time (the delivery log's chart). Like every read of tenant data,
//! both take the company id.
//!
//! # Layout
//! - [`Store`], the trait; [`StoreError`], its closed error enum.
//! - [`StoredEvent`], [`Timer`]: rows the store hands back; [`Page`] and [`SessionFilter`]:
//!   what the lists take; [`CertifyRecord`] and [`CertifyImported`]: a Certify import's writes.
//! - [`rows`]: the columns both stores write beside each aggregate's document, derived once.
//! - [`reads`]: the statements of the reads that answer documents and ids, written once; the
//!   trait's provided methods run them through [`Store::read_texts`].
//! - [`delivery`]: webhook delivery rows: claims, attempts, the delivery log and its chart
//!   ([`DeliveryBucket`]), owner emails.
//! - `conformance` (feature `conformance`): the shared test suite and the
//!   [`conformance_tests!`] macro that instantiates it for a store.

use async_trait::async_trait;
use screenhook_domain::{
    ApiKey, CertificationRequestId, Change, Company, CompanyId, CompanyTest, CompanyTestSession, DeadlineKind, EventId,
    EventKind, Expected, FrameworkId, InterviewId, LiveInterview, Millis, SessionId, SessionStatus, StandardizedTestId,
    TestId, Timestamp, VerificationStatus, Webhook, WebhookHealth, WebhookId,
};

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod delivery;
pub mod handoff;
pub mod reads;
pub mod rows;
pub mod sealed;

pub use delivery::{
    AttemptRecord, AttemptResult, AttemptRow, ClaimedDelivery, DeliveryBucket, DeliveryFilter, DeliveryRow,
    DeliveryState, FailureOutcome, HealthPolicy, MAX_SERIES_BUCKETS, Notification, OwnerEmail, Purged, QueueBucket,
    QueueGauge, QueueStats, SeriesBuilder,
};
pub use handoff::Handoff;
pub use sealed::{KeyError, SecretKeys};

/// Errors a store reports. Callers match on these; anything else is `Unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write expected a version (or absence) that the store no longer has. Nothing was written.
    #[error("{aggregate} {id} was changed concurrently (expected {expected}); nothing was written")]
    Conflict { aggregate: &'static str, id: String, expected: String },
    /// A unique value is already taken (for example a company id).
    #[error("{what} already exists")]
    Duplicate { what: String },
    /// The database could not be reached or failed; the change may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The change itself is malformed (for example a version that does not follow the expected
    /// one), or a read asked for more than a store answers (a delivery series longer than
    /// [`MAX_SERIES_BUCKETS`]): a bug in the caller. Nothing was written.
    #[error("invalid change: {0}")]
    InvalidChange(String),
    /// Stored data could not be decoded: a bug or a corrupted row.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// An event as committed to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the outbox: strictly increasing in commit order.
    pub seq: i64,
    /// Stable id: the `webhook-id` of every delivery of this event.
    pub id: EventId,
    pub kind: EventKind,
    pub triggered_on: Timestamp,
    pub company_id: CompanyId,
    pub session_id: Option<SessionId>,
    pub test_id: Option<TestId>,
    pub payload: serde_json::Value,
}

impl StoredEvent {
    /// A fired event as it is about to be written, before the outbox gives it a position.
    pub fn unpositioned(id: EventId, event: &screenhook_domain::DomainEvent) -> StoredEvent {
        StoredEvent {
            seq: 0,
            id,
            kind: event.kind,
            triggered_on: event.triggered_on,
            company_id: event.company_id.clone(),
            session_id: event.session_id.clone(),
            test_id: event.test_id.clone(),
            payload: event.payload.clone(),
        }
    }
}

/// The version a write must carry: one past the version it replaces. Both stores check every
/// write of [`Store::apply`] with it before touching a row.
pub fn check_version(aggregate: &'static str, id: &str, version: u64, expected: Expected) -> Result<(), StoreError> {
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

/// The conflict of a write whose expected version (or absence) the store no longer has.
pub fn conflict(aggregate: &'static str, id: &str, expected: Expected) -> StoreError {
    let expected = match expected {
        Expected::New => "it not to exist yet".to_owned(),
        Expected::Version(v) => format!("version {v}"),
    };
    StoreError::Conflict { aggregate, id: id.to_owned(), expected }
}

/// What [`Store::apply`] committed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The change's events with their outbox positions and ids, in firing order.
    pub events: Vec<StoredEvent>,
}

/// What [`Store::reseal_secrets`] rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub webhooks: u64,
    pub sessions: u64,
}

/// Sessions resealed per transaction.
pub const RESEAL_BATCH: u32 = 500;

/// A durable timer that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub session_id: SessionId,
    pub company_id: CompanyId,
    pub kind: DeadlineKind,
    pub due: Timestamp,
}

/// The ATS ids `atsCompanyTestSessions` can look sessions up by (`AtsIdType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtsIdType {
    GreenhouseApplicationId,
    GreenhouseCandidateId,
}

/// One page of a list: `first` items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub first: u32,
    pub offset: u32,
}

/// Which sessions to list; filters combine. Newest created first (ties by id descending).
///
/// Deleted sessions are listed only when `status` is [`SessionStatus::Deleted`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub test: Option<TestId>,
    pub status: Option<SessionStatus>,
    pub verification: Option<VerificationStatus>,
}

/// One line of a Certify export as an import writes it (`screenhook_domain::certify::import`).
#[derive(Debug, Clone, PartialEq)]
pub enum CertifyRecord {
    /// The Certified Evaluation a standardized test became.
    Test { old_id: StandardizedTestId, test: Box<CompanyTest> },
    /// The sessions a certification request became, the invitation first (the id it maps to).
    Request { old_id: CertificationRequestId, sessions: Vec<CompanyTestSession> },
}

impl CertifyRecord {
    /// The company the record belongs to; `None` for a request without sessions (malformed).
    pub fn company(&self) -> Option<&CompanyId> {
        match self {
            CertifyRecord::Test { test, .. } => Some(&test.company_id),
            CertifyRecord::Request { sessions, .. } => sessions.first().map(|s| &s.company_id),
        }
    }

    /// The record as a change of new aggregates (no events, no guards), checked to be one
    /// company's: what a store writes beside the id entry.
    pub fn as_change(&self) -> Result<Change, StoreError> {
        let company =
            self.company().ok_or_else(|| StoreError::InvalidChange("a Certify request without sessions".into()))?;
        let change = match self {
            CertifyRecord::Test { test, .. } => {
                Change { tests: vec![((**test).clone(), screenhook_domain::Expected::New)], ..Change::default() }
            }
            CertifyRecord::Request { sessions, .. } => {
                if let Some(other) = sessions.iter().find(|s| &s.company_id != company) {
                    return Err(StoreError::InvalidChange(format!(
                        "session {} of a Certify request belongs to another company",
                        other.id
                    )));
                }
                let sessions = sessions.iter().map(|s| (s.clone(), screenhook_domain::Expected::New)).collect();
                Change { sessions, ..Change::default() }
            }
        };
        Ok(change)
    }

    /// What the record answers when its old id's entry already names `new_id` (read back from
    /// the lookup): nothing is written.
    pub fn existed(&self, new_id: String) -> Result<CertifyImported, StoreError> {
        let corrupt = |err: screenhook_domain::IdError| StoreError::Corrupt(format!("certify_ids.new_id: {err}"));
        Ok(match self {
            CertifyRecord::Test { .. } => CertifyImported::TestExisted(TestId::parse(new_id).map_err(corrupt)?),
            CertifyRecord::Request { .. } => {
                CertifyImported::RequestExisted(SessionId::parse(new_id).map_err(corrupt)?)
            }
        })
    }

    /// `(kind, old id, new id)` of the record's entry in the old id → new id lookup.
    pub fn id_entry(&self) -> (&'static str, &str, &str) {
        match self {
            CertifyRecord::Test { old_id, test } => ("test", old_id.as_str(), test.id.as_str()),
            CertifyRecord::Request { old_id, sessions } => {
                ("request", old_id.as_str(), sessions.first().map(|s| s.id.as_str()).unwrap_or_default())
            }
        }
    }
}

/// What [`Store::import_certify`] did with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertifyImported {
    /// The record was written.
    Written,
    /// The company had imported this standardized test before, as this test: nothing written.
    TestExisted(TestId),
    /// The company had imported this request before, as this session: nothing written.
    RequestExisted(SessionId),
}

/// Storage of every aggregate, the outbox and the timers.
///
/// Every read of tenant data takes the company id, derived by callers from the credential,
/// never from the request; an id of another company reads as absent.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers (`/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Signalled after commits that may have made deliveries due (new events, replays,
    /// restored webhooks, recorded attempts), so delivery workers need not poll to notice.
    /// Workers still poll as a fallback, since retries fall due by time alone.
    fn work_signal(&self) -> std::sync::Arc<tokio::sync::Notify>;

    /// Deliveries this process's commits make ready are written leased to it (for `lease`,
    /// see [`Handoff`]) and handed over in memory, with their events, once durable: a local
    /// worker need not claim them back from the database. What the receiver does not finish
    /// comes back through claims, in any process, when the lease expires. Only one receiver
    /// listens at a time; `None` (the default) for a store that leaves everything to claims.
    fn local_deliveries(&self, lease: Millis) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>> {
        let _ = lease;
        None
    }

    /// Each row's first column as text, for one of the statements in [`reads`]: the reads of
    /// documents and ids below are provided on top of it.
    async fn read_texts(&self, read: reads::TextRead) -> Result<Vec<String>, StoreError>;
    /// A session as its row stores it, with the tokens sealed there opened.
    fn open_session(&self, stored: CompanyTestSession) -> Result<CompanyTestSession, StoreError>;
    /// The sessions a statement of [`reads`] selects, their tokens opened.
    async fn read_sessions(&self, read: reads::TextRead) -> Result<Vec<CompanyTestSession>, StoreError> {
        let stored: Vec<CompanyTestSession> = reads::documents(self.read_texts(read).await?)?;
        stored.into_iter().map(|session| self.open_session(session)).collect()
    }

    async fn insert_company(&self, company: &Company) -> Result<(), StoreError>;
    async fn update_company(&self, company: &Company) -> Result<(), StoreError>;
    async fn company(&self, id: &CompanyId) -> Result<Option<Company>, StoreError> {
        reads::document(self.read_texts(reads::company(id)).await?)
    }
    async fn companies(&self) -> Result<Vec<Company>, StoreError> {
        reads::documents(self.read_texts(reads::companies()).await?)
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// A key by its public id, revoked or not.
    async fn api_key(&self, public_id: &str) -> Result<Option<ApiKey>, StoreError> {
        reads::document(self.read_texts(reads::api_key(public_id)).await?)
    }
    async fn api_keys(&self, company: &CompanyId) -> Result<Vec<ApiKey>, StoreError> {
        reads::documents(self.read_texts(reads::api_keys(company)).await?)
    }
    /// Marks a key of `company` revoked; false when the company has no such live key.
    async fn revoke_api_key(&self, company: &CompanyId, public_id: &str, at: Timestamp) -> Result<bool, StoreError>;

    async fn test(&self, company: &CompanyId, id: &TestId) -> Result<Option<CompanyTest>, StoreError> {
        reads::document(self.read_texts(reads::test(company, id)).await?)
    }
    /// A company's tests ordered by title, excluding deleted ones.
    async fn tests(&self, company: &CompanyId) -> Result<Vec<CompanyTest>, StoreError> {
        reads::documents(self.read_texts(reads::tests(company)).await?)
    }

    async fn session(&self, company: &CompanyId, id: &SessionId) -> Result<Option<CompanyTestSession>, StoreError> {
        Ok(self.read_sessions(reads::session(company, id)).await?.into_iter().next())
    }
    /// A session by id alone: for the scheduler, which acts for every company.
    async fn session_unscoped(&self, id: &SessionId) -> Result<Option<CompanyTestSession>, StoreError> {
        Ok(self.read_sessions(reads::session_unscoped(id)).await?.into_iter().next())
    }
    /// Sessions of one test, newest finish first (unfinished last, newest created first).
    async fn sessions_of_test(
        &self,
        company: &CompanyId,
        test: &TestId,
        page: Page,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.read_sessions(reads::sessions_of_test(company, test, page)).await
    }
    /// A company's sessions across all its tests (the console's Results page and Proctoring
    /// queue): those matching every filter set, newest created first (ties by id descending),
    /// one page of them. Deleted sessions only when the filter asks for them.
    async fn company_sessions(
        &self,
        company: &CompanyId,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.read_sessions(reads::company_sessions(company, filter, page)).await
    }
    /// An invitation to `test` for `email` that is still pending (for `preferExisting`).
    async fn pending_session_for(
        &self,
        company: &CompanyId,
        test: &TestId,
        email: &str,
    ) -> Result<Option<CompanyTestSession>, StoreError> {
        Ok(self.read_sessions(reads::pending_session_for(company, test, email)).await?.into_iter().next())
    }
    /// A candidate's sessions of Certified Evaluations of one framework, across companies
    /// (results are the candidate's to re-share; attempts count against the cooldown).
    async fn sessions_of_candidate(
        &self,
        email: &str,
        framework: &FrameworkId,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.read_sessions(reads::sessions_of_candidate(email, framework)).await
    }

    /// Sessions carrying an ATS id (`atsCompanyTestSessions`), newest first.
    async fn sessions_by_ats_id(
        &self,
        company: &CompanyId,
        id_type: AtsIdType,
        id: &str,
    ) -> Result<Vec<CompanyTestSession>, StoreError> {
        self.read_sessions(reads::sessions_by_ats_id(company, id_type, id)).await
    }

    async fn interview(&self, company: &CompanyId, id: &InterviewId) -> Result<Option<LiveInterview>, StoreError> {
        reads::document(self.read_texts(reads::interview(company, id)).await?)
    }

    /// Commits the change atomically: all writes (checked against their expected versions),
    /// all events, and the timers of the written sessions — or nothing.
    async fn apply(&self, change: Change) -> Result<Applied, StoreError>;

    /// Writes imported Certify history, record by record in order (a test before the requests
    /// that follow it), and commits them together. Each record is written whole — its
    /// aggregates at version 1, their timers as [`Store::apply`] writes them, and its old id →
    /// new id entry — or not at all: a record whose old id its company already has writes
    /// nothing and answers what that id got; a record that fails answers its error and leaves
    /// the others alone. Nothing goes to the outbox, so no webhook is ever sent for it.
    /// `Err` means nothing was written (the database failed).
    async fn import_certify(
        &self,
        records: Vec<CertifyRecord>,
    ) -> Result<Vec<Result<CertifyImported, StoreError>>, StoreError>;
    /// The test a company's imported standardized test became.
    async fn certify_test(&self, company: &CompanyId, old: &StandardizedTestId) -> Result<Option<TestId>, StoreError> {
        reads::new_id(self.read_texts(reads::certify_test(company, old)).await?, TestId::parse)
    }
    /// The session (the invitation, first of its retakes) a company's imported certification
    /// request became.
    async fn certify_request(
        &self,
        company: &CompanyId,
        old: &CertificationRequestId,
    ) -> Result<Option<SessionId>, StoreError> {
        reads::new_id(self.read_texts(reads::certify_request(company, old)).await?, SessionId::parse)
    }

    /// Timers due at `now`, earliest first.
    async fn due_timers(&self, now: Timestamp, limit: u32) -> Result<Vec<Timer>, StoreError>;
    /// The earliest timer, to know how long the scheduler may sleep.
    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Outbox events after `after_seq`, in commit order.
    async fn events_after(&self, after_seq: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;
    /// A session's events in firing order.
    async fn events_of_session(&self, company: &CompanyId, session: &SessionId)
    -> Result<Vec<StoredEvent>, StoreError>;

    // Webhooks and delivery.

    /// Saves a new webhook (active) and its subscriptions.
    async fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError>;
    /// Replaces a webhook's configuration and subscriptions; its health is kept.
    async fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError>;
    /// Deletes a webhook: no new deliveries, and its queued ones are cancelled.
    async fn delete_webhook(&self, company: &CompanyId, id: &WebhookId) -> Result<bool, StoreError>;
    async fn webhook(
        &self,
        company: &CompanyId,
        id: &WebhookId,
    ) -> Result<Option<(Webhook, WebhookHealth)>, StoreError>;
    async fn webhooks(&self, company: &CompanyId) -> Result<Vec<(Webhook, WebhookHealth)>, StoreError>;
    /// A webhook by id alone: for delivery workers, which act for every company.
    async fn webhook_unscoped(&self, id: &WebhookId) -> Result<Option<(Webhook, WebhookHealth)>, StoreError>;
    /// "Test and save" succeeded: the webhook is active again and its queue is due now.
    async fn restore_webhook(&self, company: &CompanyId, id: &WebhookId, now: Timestamp) -> Result<bool, StoreError>;
    /// Rewrites every stored webhook secret (of deleted webhooks too, which can be restored)
    /// that is not sealed under the current key — sealed under a previous key, or written
    /// before sealing existed — and returns how many webhooks changed. See [`sealed`].
    async fn reseal_webhooks(&self) -> Result<u64, StoreError>;
    /// The same for every session's tokens, found by a scan that locks nothing and rewritten
    /// in batches of [`RESEAL_BATCH`], each its own transaction, so the API's writes go on in
    /// between; a session's version does not change. Returns how many sessions changed.
    async fn reseal_sessions(&self) -> Result<u64, StoreError>;
    /// Both: what makes a key rotation finish. Servers run it at start (the sessions in the
    /// background), so a key rotation is: make the new key current and the old one previous,
    /// restart, then drop the old key.
    async fn reseal_secrets(&self) -> Result<Resealed, StoreError> {
        Ok(Resealed { webhooks: self.reseal_webhooks().await?, sessions: self.reseal_sessions().await? })
    }

    /// Leases up to `limit` due deliveries to the caller until `now + lease`: the next
    /// delivery of each session of each active webhook (skipping `saturated` webhooks), and
    /// one probe for each unhealthy webhook whose probe is due.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Millis,
        limit: u32,
        saturated: &[WebhookId],
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records attempts and their consequences (next attempt, the session's next delivery,
    /// webhook health, owner emails) in one transaction. A result counts only while its claim
    /// still holds the delivery: one whose claim was superseded, already recorded or given
    /// back is ignored.
    async fn record_attempts(&self, attempts: Vec<AttemptRecord>, policy: &HealthPolicy) -> Result<(), StoreError>;
    /// Gives back claimed deliveries that were not attempted, as `(delivery id, claim)`: they
    /// are claimable again at once under the usual rules (a paused one only as a probe). One
    /// claimed again since (under another claim) is left alone.
    async fn release_deliveries(&self, claimed: &[(i64, i64)]) -> Result<(), StoreError>;

    /// The delivery log, newest first.
    async fn deliveries(&self, company: &CompanyId, filter: &DeliveryFilter) -> Result<Vec<DeliveryRow>, StoreError>;
    async fn attempts(&self, company: &CompanyId, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError>;
    /// The delivery log's chart: `webhook`'s deliveries from `since` to `until` in buckets of
    /// `bucket`, every bucket of the window (see [`DeliveryBucket`] for what each counts). A
    /// deleted webhook keeps its history; one of another company, or none, reads as a webhook
    /// with no deliveries. More
    /// than [`MAX_SERIES_BUCKETS`] buckets, an empty `bucket` or `until` before `since` is
    /// refused with [`StoreError::InvalidChange`].
    async fn delivery_series(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        until: Timestamp,
        bucket: Millis,
    ) -> Result<Vec<DeliveryBucket>, StoreError>;
    /// Queues `event` to `webhook` again (same `webhook-id`); `None` when either is unknown to
    /// the company.
    async fn replay(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        event: &EventId,
        now: Timestamp,
    ) -> Result<Option<DeliveryRow>, StoreError>;
    /// Queues again every delivery to `webhook` created since `since` that failed for good;
    /// returns how many.
    async fn recover(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<u32, StoreError>;

    /// Unfinished deliveries by [`QueueBucket`] at `now`, and webhooks by health, over every
    /// company: the operator's gauges. Reads only unfinished deliveries, through their index.
    async fn queue_stats(&self, now: Timestamp) -> Result<QueueStats, StoreError>;

    /// Retention: removes up to `limit` finished deliveries (delivered, failed for good or
    /// cancelled) that finished before `before`, with their attempts, then up to `limit`
    /// events fired before `before` that no delivery needs any more. Unfinished deliveries and
    /// their events are never touched. One short transaction per call, so writes never wait
    /// long behind it; call again while [`Purged::more_than`] the limit.
    async fn purge_history(&self, before: Timestamp, limit: u32) -> Result<Purged, StoreError>;

    async fn pending_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError>;
    async fn mark_notification(&self, id: i64, at: Timestamp, outcome: &str) -> Result<(), StoreError>;
}

/// A new outbox event id: `evt_` + a time-ordered id with 15 random characters.
pub fn new_event_id() -> EventId {
    EventId::parse(time_ordered_id("evt_", 15)).expect("generated ids use the id alphabet")
}

/// `prefix`, 7 base62 characters of the current time in ms (good until 2081), then `len`
/// random base62 characters. Ids that sort by creation time land at the end of their
/// indexes, so a batch of inserts touches a few pages instead of one random page per row.
pub fn time_ordered_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let mut time = [b'0'; 7];
    for digit in time.iter_mut().rev() {
        *digit = ALPHABET[(ms % 62) as usize];
        ms /= 62;
    }
    let mut id = String::with_capacity(prefix.len() + 7 + len);
    id.push_str(prefix);
    id.push_str(std::str::from_utf8(&time).expect("ASCII"));
    id.push_str(&random_id("", len));
    id
}

/// `prefix` followed by `len` random base62 characters.
pub fn random_id(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    for _ in 0..len {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}
