//! Group commit: concurrent [`Store::apply`](screenhook_store::Store::apply) calls share one
//! transaction, and their rows go in with a few multi-row statements (`unnest` arrays),
//! so a burst of API requests costs a handful of statements and one commit instead of about
//! ten statements and a commit each. PostgreSQL's CPU per statement, not its disk, is what
//! limits a small machine; see docs/PERFORMANCE.md.
//!
//! A few writer tasks take whatever changes are waiting (up to [`MAX_BATCH`]) and commit them
//! together; their commits overlap only while changes come one at a time ([`Commits`]). A
//! batch never holds two changes to the same aggregate, so every version check is against the
//! committed state, exactly as for a change on its own. When anything in a batch
//! fails — a version check, a guard, a deadlock past its retries, a constraint — the batch
//! rolls back, having written nothing, and each of its changes runs again in a transaction of
//! its own, so only the change at fault fails, with the error it would have had alone. A lone
//! change takes that single path directly.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use screenhook_domain::{Change, CompanyTestSession, Expected, Timestamp};
use screenhook_store::{
    Applied, ClaimedDelivery, Handoff, StoreError, StoredEvent, conflict,
    rows::{SessionRow, TimerRow},
};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use tokio::sync::{Mutex, Notify, Semaphore, SemaphorePermit, mpsc, oneshot};

use crate::{db, delivery, write};

/// Most changes committed together.
pub(crate) const MAX_BATCH: usize = 128;
/// Writer tasks per process: while one waits for its commit to be flushed, another fills the
/// next batch.
pub(crate) const WRITERS: usize = 2;
/// Batches smaller than this may commit while another is in flight; from this size on, a
/// batch waits for the commit in flight, gathering the changes that arrive meanwhile.
/// Overlapping commits hides one's flush from the next change, which helps latency while
/// changes come one at a time (at 1,000 events/s most batches hold one). Once changes queue
/// up, the database is what limits, and overlapping only cuts the same changes into more,
/// smaller batches, each paying a commit's fixed round trips: three processes on one
/// database with overlapping commits made batches of about six and were a quarter slower
/// than one process (docs/PERFORMANCE.md).
const OVERLAP_BELOW: usize = 2;

/// A change waiting for its commit, and where its caller waits for the answer.
pub(crate) struct Pending {
    pub change: Change,
    pub reply: oneshot::Sender<Result<Applied, StoreError>>,
}

/// Where the deliveries a commit queued go: handed to this process's worker when it listens,
/// else announced to whoever claims.
#[derive(Clone)]
pub(crate) struct Wake {
    pub work: Arc<Notify>,
    pub announce: Arc<Notify>,
    pub handoff: Arc<Handoff>,
}

impl Wake {
    /// After the commit of `written`: only what is durable is handed over or announced.
    fn committed(&self, written: &mut Written) {
        self.handoff.send(std::mem::take(&mut written.leased));
        if written.claimable {
            self.work.notify_one();
            self.announce.notify_one();
        }
    }
}

/// What a batch (or a lone change) wrote.
pub(crate) struct Written {
    /// Per change, in order.
    pub applied: Vec<Applied>,
    /// Some queued delivery was not handed over: the claimers should look.
    pub claimable: bool,
    /// The ready deliveries leased to this process, to hand over once committed.
    pub leased: Vec<ClaimedDelivery>,
}

/// Whether the writers' commits may overlap: each commit holds a slot, a small one one slot
/// and a large one all of them (see [`OVERLAP_BELOW`]).
pub(crate) struct Commits {
    slots: Semaphore,
    last_batch: AtomicUsize,
}

impl Default for Commits {
    fn default() -> Self {
        Commits { slots: Semaphore::new(WRITERS), last_batch: AtomicUsize::new(0) }
    }
}

impl Commits {
    /// Waits until the next commit may start: at once if the last batch was small and a slot
    /// is free, else when no commit is in flight. The changes keep arriving while it waits,
    /// so the batch it then takes is larger.
    async fn slot(&self) -> SemaphorePermit<'_> {
        let slots = if self.last_batch.load(Ordering::Relaxed) < OVERLAP_BELOW { 1 } else { WRITERS };
        self.slots.acquire_many(slots as u32).await.expect("the commit slots are never closed")
    }

    /// The commit just given a slot takes `changes`: whether the next one may overlap it.
    fn took(&self, changes: usize) {
        self.last_batch.store(changes, Ordering::Relaxed);
    }
}

/// One writer: takes the waiting changes, splits them into batches and commits each.
pub(crate) async fn writer(
    pool: PgPool,
    queue: Arc<Mutex<mpsc::Receiver<Pending>>>,
    commits: Arc<Commits>,
    wake: Wake,
) {
    loop {
        let mut waiting = Vec::new();
        let slot;
        {
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(first) => waiting.push(first),
                None => return,
            }
            slot = commits.slot().await;
            while waiting.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => waiting.push(next),
                    Err(_) => break,
                }
            }
        }
        commits.took(waiting.len());
        for batch in batches(waiting) {
            commit(&pool, batch, &wake).await;
        }
        drop(slot);
    }
}

/// Splits changes, in arrival order, into batches in which no aggregate is written twice.
fn batches(waiting: Vec<Pending>) -> Vec<Vec<Pending>> {
    split(waiting, |pending| written_keys(&pending.change))
}

/// Cuts `items`, in order, into runs in which no two share a key.
fn split<T, K: Eq + std::hash::Hash>(items: Vec<T>, keys: impl Fn(&T) -> Vec<K>) -> Vec<Vec<T>> {
    let mut runs: Vec<Vec<T>> = Vec::new();
    let mut taken: HashSet<K> = HashSet::new();
    for item in items {
        let keys = keys(&item);
        if runs.is_empty() || keys.iter().any(|key| taken.contains(key)) {
            runs.push(Vec::new());
            taken.clear();
        }
        taken.extend(keys);
        runs.last_mut().expect("a run was just pushed").push(item);
    }
    runs
}

fn written_keys(change: &Change) -> Vec<(&'static str, String)> {
    let tests = change.tests.iter().map(|(t, _)| ("test", t.id.to_string()));
    let sessions = change.sessions.iter().map(|(s, _)| ("session", s.id.to_string()));
    let interviews = change.interviews.iter().map(|(i, _)| ("interview", i.id.to_string()));
    tests.chain(sessions).chain(interviews).collect()
}

/// What one transaction writes: changes, and the lease their fresh deliveries get.
struct Group<'a> {
    changes: Vec<&'a Change>,
    lease_until: Option<Timestamp>,
}

fn write<'c>(conn: &'c mut PgConnection, group: &'c Group<'_>) -> crate::Work<'c, Written> {
    Box::pin(apply_all(conn, &group.changes, group.lease_until))
}

async fn commit(pool: &PgPool, batch: Vec<Pending>, wake: &Wake) {
    let lease_until = wake.handoff.lease_until();
    if batch.len() > 1 {
        let group = Group { changes: batch.iter().map(|p| &p.change).collect(), lease_until };
        match crate::in_transaction(pool, crate::Plans::Generic, &group, write).await {
            Ok(mut written) => {
                wake.committed(&mut written);
                for (pending, applied) in batch.into_iter().zip(written.applied) {
                    let _ = pending.reply.send(Ok(applied));
                }
                return;
            }
            Err(err) => {
                tracing::debug!(changes = batch.len(), %err, "a batch rolled back; committing its changes one by one");
            }
        }
    }
    for pending in batch {
        let group = Group { changes: vec![&pending.change], lease_until };
        let result = crate::in_transaction(pool, crate::Plans::Generic, &group, write).await.map(|mut written| {
            wake.committed(&mut written);
            written.applied.pop().unwrap_or_default()
        });
        let _ = pending.reply.send(result);
    }
}

/// Writes every change of a batch (or a lone change) in the caller's transaction, with a few
/// multi-row statements. Any error means the batch must not commit.
pub(crate) async fn apply_all(
    conn: &mut PgConnection,
    changes: &[&Change],
    lease_until: Option<Timestamp>,
) -> Result<Written, StoreError> {
    // Tests are locked before sessions in every transaction (guards, then test writes), so two
    // batches never wait for each other's rows in opposite orders.
    check_guards(conn, changes).await?;
    for change in changes {
        // Rare (a test created or edited, an interview scheduled): one statement each.
        for (test, expected) in &change.tests {
            write::write_test(conn, test, *expected).await?;
        }
        for (interview, expected) in &change.interviews {
            write::write_interview(conn, interview, *expected).await?;
        }
    }
    write_sessions(conn, changes).await?;

    let events: Vec<_> = changes.iter().flat_map(|c| c.events.iter().cloned()).collect();
    if events.is_empty() {
        let applied = changes.iter().map(|_| Applied::default()).collect();
        return Ok(Written { applied, claimable: false, leased: Vec::new() });
    }
    let stored = write::insert_events(conn, &events).await?;
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq).collect();
    let fanned = delivery::fan_out(conn, &seqs, lease_until).await?;
    let by_seq: HashMap<i64, &StoredEvent> = stored.iter().map(|e| (e.seq, e)).collect();
    let leased = fanned
        .leased
        .into_iter()
        .map(|(delivery_id, seq, webhook_id)| {
            let event = by_seq
                .get(&seq)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery {delivery_id}: no event {seq}")))?;
            let event = (*event).clone();
            Ok(ClaimedDelivery { delivery_id, claim: 1, attempts: 0, webhook_id, event, probe: false })
        })
        .collect::<Result<_, StoreError>>()?;
    let mut stored = stored.into_iter();
    let applied = changes.iter().map(|c| Applied { events: stored.by_ref().take(c.events.len()).collect() }).collect();
    Ok(Written { applied, claimable: fanned.claimable, leased })
}

/// Every guard of the batch in one statement, the tests held `FOR SHARE` to commit.
async fn check_guards(conn: &mut PgConnection, changes: &[&Change]) -> Result<(), StoreError> {
    let mut guarded: Vec<(&str, &str)> =
        changes.iter().flat_map(|c| &c.guards).map(|g| (g.test_id.as_str(), g.company_id.as_str())).collect();
    if guarded.is_empty() {
        return Ok(());
    }
    guarded.sort_unstable();
    guarded.dedup();
    let (ids, companies): (Vec<&str>, Vec<&str>) = guarded.into_iter().unzip();
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT t.id, t.company_id, t.version FROM tests t \
         JOIN unnest($1::text[], $2::text[]) AS g(id, company_id) ON t.id = g.id AND t.company_id = g.company_id \
         ORDER BY t.id FOR SHARE OF t",
    )
    .bind(&ids)
    .bind(&companies)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for guard in changes.iter().flat_map(|c| &c.guards) {
        let held = rows.iter().any(|(id, company, version)| {
            id == guard.test_id.as_str() && company == guard.company_id.as_str() && *version == guard.version as i64
        });
        if !held {
            return Err(conflict("test", guard.test_id.as_str(), Expected::Version(guard.version)));
        }
    }
    Ok(())
}

/// The session rows and timers of a batch in one statement: one round trip, and one
/// statement's work in PostgreSQL, where they were four. Its parts are CTEs on disjoint rows
/// (the sessions inserted, those updated, the timers set, those cleared), so they write what
/// the four statements wrote; the counts are checked as those were: inserts, then updates.
async fn write_sessions(conn: &mut PgConnection, changes: &[&Change]) -> Result<(), StoreError> {
    let sessions: Vec<(&CompanyTestSession, Expected)> =
        changes.iter().flat_map(|c| c.sessions.iter().map(|(s, e)| (s, *e))).collect();
    if sessions.is_empty() {
        return Ok(());
    }
    let (mut inserts, mut updates) = (Vec::new(), Vec::new());
    for (session, expected) in &sessions {
        let row = SessionRow::of(session)?;
        row.key.check(*expected)?;
        match expected {
            Expected::New => inserts.push(row),
            Expected::Version(old) => updates.push((row, *old)),
        }
    }
    inserts.sort_unstable_by(|a, b| a.key.id.cmp(b.key.id));
    updates.sort_unstable_by(|a, b| a.0.key.id.cmp(b.0.key.id));
    let first_insert = inserts.first().map(|row| row.key);
    let first_update = updates.first().map(|(row, old)| (row.key, *old));
    let (insert_count, update_count) = (inserts.len() as i64, updates.len() as i64);
    // Each session's timer rewritten from its new state: set where it has a deadline, cleared
    // where an existing session has none.
    let mut due: Vec<TimerRow<'_>> = sessions.iter().filter_map(|(s, _)| TimerRow::of(s)).collect();
    due.sort_unstable_by(|a, b| a.session_id.cmp(b.session_id));
    let mut done: Vec<&str> = sessions
        .iter()
        .filter(|(s, e)| *e != Expected::New && TimerRow::of(s).is_none())
        .map(|(s, _)| s.id.as_str())
        .collect();
    done.sort_unstable();

    let mut sql = QueryBuilder::<Postgres>::new("WITH ");
    let mut parts = 0;
    let mut part = |sql: &mut QueryBuilder<Postgres>, text: &str| {
        if parts > 0 {
            sql.push(", ");
        }
        parts += 1;
        sql.push(text);
    };
    if !inserts.is_empty() {
        let mut c = SessionColumns::default();
        inserts.into_iter().for_each(|row| c.push(row));
        part(
            &mut sql,
            "inserted AS (INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, \
             framework_id, create_date, finish_date, greenhouse_candidate_id, greenhouse_application_id, \
             verification_status, doc) SELECT * FROM unnest(",
        );
        sql.push_bind(c.ids).push("::text[], ").push_bind(c.companies).push("::text[], ");
        sql.push_bind(c.test_ids).push("::text[], ").push_bind(c.versions).push("::int8[], ");
        sql.push_bind(c.statuses).push("::text[], ").push_bind(c.candidate_emails).push("::text[], ");
        sql.push_bind(c.framework_ids).push("::text[], ").push_bind(c.create_dates).push("::int8[], ");
        sql.push_bind(c.finishes).push("::int8[], ").push_bind(c.greenhouse_candidate_ids).push("::text[], ");
        sql.push_bind(c.greenhouse_application_ids).push("::text[], ").push_bind(c.verifications).push("::text[], ");
        sql.push_bind(c.docs).push("::text[]) ON CONFLICT (id) DO NOTHING RETURNING 1)");
    }
    if !updates.is_empty() {
        let mut c = SessionColumns::default();
        let mut olds = Vec::with_capacity(updates.len());
        for (row, old) in updates {
            c.push(row);
            olds.push(old as i64);
        }
        part(
            &mut sql,
            "updated AS (UPDATE sessions s SET version = v.version, status = v.status, \
             finish_date = v.finish_date, verification_status = v.verification_status, doc = v.doc FROM unnest(",
        );
        sql.push_bind(c.ids).push("::text[], ").push_bind(c.companies).push("::text[], ");
        sql.push_bind(c.versions).push("::int8[], ").push_bind(c.statuses).push("::text[], ");
        sql.push_bind(c.finishes).push("::int8[], ").push_bind(c.verifications).push("::text[], ");
        sql.push_bind(c.docs).push("::text[], ").push_bind(olds).push("::int8[]) ");
        sql.push(
            "AS v(id, company_id, version, status, finish_date, verification_status, doc, old) \
             WHERE s.id = v.id AND s.company_id = v.company_id AND s.version = v.old RETURNING 1)",
        );
    }
    if !due.is_empty() {
        part(
            &mut sql,
            "timers_set AS (INSERT INTO timers (session_id, company_id, kind, due_at) SELECT * FROM unnest(",
        );
        sql.push_bind(due.iter().map(|t| t.session_id).collect::<Vec<_>>()).push("::text[], ");
        sql.push_bind(due.iter().map(|t| t.company_id).collect::<Vec<_>>()).push("::text[], ");
        sql.push_bind(due.iter().map(|t| t.kind).collect::<Vec<_>>()).push("::text[], ");
        sql.push_bind(due.iter().map(|t| t.due_at).collect::<Vec<_>>()).push("::int8[]) ");
        sql.push("ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at)");
    }
    if !done.is_empty() {
        part(&mut sql, "timers_cleared AS (DELETE FROM timers WHERE session_id = ANY(");
        sql.push_bind(done).push("))");
    }
    sql.push(" SELECT ");
    sql.push(if first_insert.is_some() { "(SELECT count(*) FROM inserted), " } else { "0::int8, " });
    sql.push(if first_update.is_some() { "(SELECT count(*) FROM updated)" } else { "0::int8" });

    let (inserted, updated): (i64, i64) = sql.build_query_as().fetch_one(&mut *conn).await.map_err(db)?;
    if let Some(first) = first_insert
        && inserted != insert_count
    {
        return Err(first.conflict(Expected::New));
    }
    if let Some((first, old)) = first_update
        && updated != update_count
    {
        return Err(first.conflict(Expected::Version(old)));
    }
    Ok(())
}

/// Session rows, column by column: `unnest` takes one array per column. An update binds only
/// the columns it rewrites.
#[derive(Default)]
struct SessionColumns<'a> {
    ids: Vec<&'a str>,
    companies: Vec<&'a str>,
    versions: Vec<i64>,
    statuses: Vec<&'static str>,
    finishes: Vec<Option<i64>>,
    verifications: Vec<Option<&'static str>>,
    docs: Vec<String>,
    test_ids: Vec<&'a str>,
    candidate_emails: Vec<&'a str>,
    framework_ids: Vec<Option<&'a str>>,
    create_dates: Vec<i64>,
    greenhouse_candidate_ids: Vec<Option<&'a str>>,
    greenhouse_application_ids: Vec<Option<&'a str>>,
}

impl<'a> SessionColumns<'a> {
    fn push(&mut self, row: SessionRow<'a>) {
        self.ids.push(row.key.id);
        self.companies.push(row.key.company_id);
        self.versions.push(row.key.version);
        self.statuses.push(row.status);
        self.finishes.push(row.finish_date);
        self.verifications.push(row.verification_status);
        self.docs.push(row.doc);
        self.test_ids.push(row.test_id);
        self.candidate_emails.push(row.candidate_email);
        self.framework_ids.push(row.framework_id);
        self.create_dates.push(row.create_date);
        self.greenhouse_candidate_ids.push(row.greenhouse_candidate_id);
        self.greenhouse_application_ids.push(row.greenhouse_application_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_batch_writes_one_aggregate_twice() {
        let items = vec!["s1", "s2", "s1", "s3", "s3"];
        let runs = split(items, |id| vec![*id]);
        assert_eq!(runs, [vec!["s1", "s2"], vec!["s1", "s3"], vec!["s3"]], "in arrival order");
        assert!(split(Vec::<&str>::new(), |id| vec![*id]).is_empty());
        assert_eq!(split(vec!["a", "b"], |_| Vec::<&str>::new()), [vec!["a", "b"]], "changes writing nothing");
    }

    #[tokio::test]
    async fn commits_overlap_only_after_lone_changes() {
        use std::future::Future;

        let commits = Commits::default();
        let in_flight = commits.slot().await;
        commits.took(1);
        let overlapping = tokio::time::timeout(std::time::Duration::from_secs(5), commits.slot()).await;
        assert!(overlapping.is_ok(), "after a lone change the next commit starts beside the one in flight");
        drop(overlapping);

        commits.took(OVERLAP_BELOW);
        let next = commits.slot();
        tokio::pin!(next);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(next.as_mut().poll(&mut cx).is_pending(), "a batch of several waits for the commit in flight");
        drop(in_flight);
        assert!(next.as_mut().poll(&mut cx).is_ready(), "and starts once it is done");
    }
}
