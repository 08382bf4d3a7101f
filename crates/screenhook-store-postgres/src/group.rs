//! Group commit: concurrent [`Store::apply`](screenhook_store::Store::apply) calls share one
//! transaction, and their rows go in with one multi-row statement per table (`unnest` arrays),
//! so a burst of API requests costs a handful of statements and one commit instead of about
//! ten statements and a commit each. PostgreSQL's CPU per statement, not its disk, is what
//! limits a small machine; see docs/PERFORMANCE.md.
//!
//! A few writer tasks take whatever changes are waiting (up to [`MAX_BATCH`]) and commit them
//! together. A batch never holds two changes to the same aggregate, so every version check is
//! against the committed state, exactly as for a change on its own. When anything in a batch
//! fails — a version check, a guard, a deadlock past its retries, a constraint — the batch
//! rolls back, having written nothing, and each of its changes runs again in a transaction of
//! its own, so only the change at fault fails, with the error it would have had alone. A lone
//! change takes that single path directly.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use screenhook_domain::{Change, CompanyTestSession, Expected, Timestamp};
use screenhook_store::{
    Applied, ClaimedDelivery, Handoff, StoreError, StoredEvent, conflict,
    rows::{SessionRow, TimerRow},
};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::{OUTBOX_LOCK, db, delivery, write};

/// Most changes committed together.
pub(crate) const MAX_BATCH: usize = 128;
/// Writer tasks per process: while one waits for its commit to be flushed, another fills the
/// next batch.
pub(crate) const WRITERS: usize = 2;

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

/// One writer: takes the waiting changes, splits them into batches and commits each.
pub(crate) async fn writer(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<Pending>>>, wake: Wake) {
    loop {
        let mut waiting = Vec::new();
        {
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(first) => waiting.push(first),
                None => return,
            }
            while waiting.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => waiting.push(next),
                    Err(_) => break,
                }
            }
        }
        for batch in batches(waiting) {
            commit(&pool, batch, &wake).await;
        }
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

/// Writes every change of a batch (or a lone change) in the caller's transaction, with one
/// statement per table. Any error means the batch must not commit.
pub(crate) async fn apply_all(
    conn: &mut PgConnection,
    changes: &[&Change],
    lease_until: Option<Timestamp>,
) -> Result<Written, StoreError> {
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
    let sessions: Vec<(&CompanyTestSession, Expected)> =
        changes.iter().flat_map(|c| c.sessions.iter().map(|(s, e)| (s, *e))).collect();
    let (mut inserts, mut updates) = (Vec::new(), Vec::new());
    for (session, expected) in &sessions {
        let row = SessionRow::of(session)?;
        row.key.check(*expected)?;
        match expected {
            Expected::New => inserts.push(row),
            Expected::Version(old) => updates.push((row, *old)),
        }
    }
    insert_sessions(conn, inserts).await?;
    update_sessions(conn, updates).await?;
    write_timers(conn, &sessions).await?;

    let events: Vec<_> = changes.iter().flat_map(|c| c.events.iter().cloned()).collect();
    if events.is_empty() {
        let applied = changes.iter().map(|_| Applied::default()).collect();
        return Ok(Written { applied, claimable: false, leased: Vec::new() });
    }
    // As for a change alone: the outbox lock shared to commit (see the crate docs).
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)").bind(OUTBOX_LOCK).execute(&mut *conn).await.map_err(db)?;
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

async fn insert_sessions(conn: &mut PgConnection, mut rows: Vec<SessionRow<'_>>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_unstable_by(|a, b| a.key.id.cmp(b.key.id));
    let first = rows[0].key;
    let count = rows.len() as u64;
    let mut columns = SessionColumns::default();
    rows.into_iter().for_each(|row| columns.push(row));
    let inserted = sqlx::query(
        "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, framework_id, \
         create_date, finish_date, greenhouse_candidate_id, greenhouse_application_id, verification_status, doc) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], \
                              $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[]) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&columns.ids)
    .bind(&columns.companies)
    .bind(&columns.test_ids)
    .bind(&columns.versions)
    .bind(&columns.statuses)
    .bind(&columns.candidate_emails)
    .bind(&columns.framework_ids)
    .bind(&columns.create_dates)
    .bind(&columns.finishes)
    .bind(&columns.greenhouse_candidate_ids)
    .bind(&columns.greenhouse_application_ids)
    .bind(&columns.verifications)
    .bind(&columns.docs)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if inserted != count {
        return Err(first.conflict(Expected::New));
    }
    Ok(())
}

async fn update_sessions(conn: &mut PgConnection, mut rows: Vec<(SessionRow<'_>, u64)>) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    rows.sort_unstable_by(|a, b| a.0.key.id.cmp(b.0.key.id));
    let (first, old) = (rows[0].0.key, rows[0].1);
    let count = rows.len() as u64;
    let mut columns = SessionColumns::default();
    let mut olds = Vec::with_capacity(rows.len());
    for (row, old) in rows {
        columns.push(row);
        olds.push(old as i64);
    }
    let updated = sqlx::query(
        "UPDATE sessions s SET version = v.version, status = v.status, finish_date = v.finish_date, \
                verification_status = v.verification_status, doc = v.doc \
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::int8[]) \
              AS v(id, company_id, version, status, finish_date, verification_status, doc, old) \
         WHERE s.id = v.id AND s.company_id = v.company_id AND s.version = v.old",
    )
    .bind(&columns.ids)
    .bind(&columns.companies)
    .bind(&columns.versions)
    .bind(&columns.statuses)
    .bind(&columns.finishes)
    .bind(&columns.verifications)
    .bind(&columns.docs)
    .bind(&olds)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if updated != count {
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

/// Each session's timer rewritten from its new state: one upsert for those with a deadline,
/// one delete for the existing ones without.
async fn write_timers(conn: &mut PgConnection, sessions: &[(&CompanyTestSession, Expected)]) -> Result<(), StoreError> {
    let mut due: Vec<TimerRow<'_>> = sessions.iter().filter_map(|(s, _)| TimerRow::of(s)).collect();
    due.sort_unstable_by(|a, b| a.session_id.cmp(b.session_id));
    if !due.is_empty() {
        sqlx::query(
            "INSERT INTO timers (session_id, company_id, kind, due_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) \
             ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at",
        )
        .bind(due.iter().map(|t| t.session_id).collect::<Vec<_>>())
        .bind(due.iter().map(|t| t.company_id).collect::<Vec<_>>())
        .bind(due.iter().map(|t| t.kind).collect::<Vec<_>>())
        .bind(due.iter().map(|t| t.due_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let mut done: Vec<&str> = sessions
        .iter()
        .filter(|(s, e)| *e != Expected::New && TimerRow::of(s).is_none())
        .map(|(s, _)| s.id.as_str())
        .collect();
    if !done.is_empty() {
        done.sort_unstable();
        sqlx::query("DELETE FROM timers WHERE session_id = ANY($1)")
            .bind(&done)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
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
}
