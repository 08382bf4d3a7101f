//! The fast path of group commit: a whole batch of changes in a handful of statements.
//!
//! Each statement has a fixed cost (binding, stepping, updating every index page it touches),
//! which dominates the cost of a small change. So instead of writing change by change, the batch
//! is checked in memory against the versions read in one query, and the accepted changes are
//! written with one multi-row statement per table.
//!
//! Checking in memory is sound because the writer is the only writer and holds the
//! `BEGIN IMMEDIATE` lock: nothing can change a version between the read and the writes.
//! Changes are checked in arrival order, each against the versions the earlier accepted
//! changes of the batch left, exactly as if they had committed one by one. A change that fails
//! its check is answered with the error and nothing of it is written. Any other failure
//! aborts the fast path, and the caller replays the batch change by change.

use std::collections::HashMap;

use rusqlite::{Connection, types::Value};
use screenhook_domain::{Change, CompanyTestSession, Expected, Timestamp, WebhookId};
use screenhook_store::{
    Applied, ClaimedDelivery, StoreError, StoredEvent, new_event_id,
    rows::{EventRow, SessionRow, TimerRow},
};

use crate::{Failure, opt_int, opt_text, text, writer};

/// An aggregate: its kind and id.
type AggregateKey = (&'static str, String);

/// What the store holds for one aggregate: its company and version.
type Current = HashMap<AggregateKey, Option<(String, u64)>>;

/// Applies `changes` in one go. `Ok` carries each change's own outcome, in order.
/// With `lease_until`, the ready deliveries the batch fans out are written leased to this process and
/// pushed onto `leased`, to be handed to the local worker once the batch commits.
pub(crate) fn apply_batch(
    conn: &Connection,
    changes: &[Change],
    lease_until: Option<Timestamp>,
    leased: &mut Vec<ClaimedDelivery>,
) -> Result<Vec<Result<Applied, StoreError>>, Failure> {
    let mut current = read_versions(conn, changes)?;
    // What the database held before this batch, to tell inserts from updates.
    let stored: HashMap<(&'static str, String), bool> = current.iter().map(|(k, v)| (k.clone(), v.is_some())).collect();

    let mut outcomes: Vec<Option<Result<Applied, StoreError>>> = Vec::with_capacity(changes.len());
    let mut accepted = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        match check(change, &mut current) {
            Ok(()) => {
                accepted.push(index);
                outcomes.push(None);
            }
            Err(err) => outcomes.push(Some(Err(err))),
        }
    }

    // The final state of every session written, in first-write order.
    let mut sessions: Vec<&CompanyTestSession> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    for &index in &accepted {
        for (session, _) in &changes[index].sessions {
            match position.get(session.id.as_str()) {
                Some(&at) => sessions[at] = session,
                None => {
                    position.insert(session.id.as_str(), sessions.len());
                    sessions.push(session);
                }
            }
        }
    }
    let (inserts, updates): (Vec<&CompanyTestSession>, Vec<&CompanyTestSession>) =
        sessions.iter().partition(|s| !stored.get(&("test session", s.id.to_string())).copied().unwrap_or(false));
    write_sessions(conn, &inserts, &updates)?;
    write_timers(conn, &sessions)?;

    // Tests and interviews change rarely: written one by one, in order, as checked.
    for &index in &accepted {
        for (test, expected) in &changes[index].tests {
            writer::write_test(conn, test, *expected)?;
        }
        for (interview, expected) in &changes[index].interviews {
            writer::write_interview(conn, interview, *expected)?;
        }
    }

    let mut applied = insert_events(conn, changes, &accepted, lease_until, leased)?;
    for index in accepted.into_iter().rev() {
        outcomes[index] = Some(Ok(applied.pop().expect("one Applied per accepted change")));
    }
    Ok(outcomes.into_iter().map(|o| o.expect("every change has an outcome")).collect())
}

fn read_versions(conn: &Connection, changes: &[Change]) -> Result<Current, Failure> {
    let mut current = Current::new();
    for (aggregate, table) in [("test session", "sessions"), ("test", "tests"), ("live interview", "interviews")] {
        let ids: Vec<&str> = changes
            .iter()
            .flat_map(|c| -> Vec<&str> {
                match aggregate {
                    "test session" => c.sessions.iter().map(|(s, _)| s.id.as_str()).collect(),
                    "test" => c
                        .tests
                        .iter()
                        .map(|(t, _)| t.id.as_str())
                        .chain(c.guards.iter().map(|g| g.test_id.as_str()))
                        .collect(),
                    _ => c.interviews.iter().map(|(i, _)| i.id.as_str()).collect(),
                }
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        for id in &ids {
            current.insert((aggregate, (*id).to_owned()), None);
        }
        let sql = format!("SELECT id, company_id, version FROM {table} WHERE id IN (SELECT value FROM json_each(?1))");
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query([serde_json::to_string(&ids).expect("strings encode")])?;
        while let Some(row) = rows.next()? {
            let version: i64 = row.get("version")?;
            current.insert((aggregate, row.get("id")?), Some((row.get("company_id")?, version as u64)));
        }
    }
    Ok(current)
}

/// Checks one change against `current` and, when it passes, moves `current` past it.
fn check(change: &Change, current: &mut Current) -> Result<(), StoreError> {
    let writes = change
        .sessions
        .iter()
        .map(|(s, e)| ("test session", s.id.as_str(), s.company_id.as_str(), s.version, *e))
        .chain(change.tests.iter().map(|(t, e)| ("test", t.id.as_str(), t.company_id.as_str(), t.version, *e)))
        .chain(
            change
                .interviews
                .iter()
                .map(|(i, e)| ("live interview", i.id.as_str(), i.company_id.as_str(), i.version, *e)),
        );
    let mut next: Vec<(AggregateKey, Option<(String, u64)>)> = Vec::new();
    for guard in &change.guards {
        let still = match &current[&("test", guard.test_id.to_string())] {
            Some((owner, version)) => owner == guard.company_id.as_str() && *version == guard.version,
            None => false,
        };
        if !still {
            return Err(screenhook_store::conflict("test", guard.test_id.as_str(), Expected::Version(guard.version)));
        }
    }
    for (aggregate, id, company, version, expected) in writes {
        screenhook_store::check_version(aggregate, id, version, expected)?;
        let key = (aggregate, id.to_owned());
        // A write earlier in this same change counts too.
        let now =
            next.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.clone()).unwrap_or_else(|| current[&key].clone());
        let matches = match (expected, &now) {
            (Expected::New, None) => true,
            (Expected::Version(v), Some((owner, stored))) => owner == company && *stored == v,
            _ => false,
        };
        if !matches {
            return Err(screenhook_store::conflict(aggregate, id, expected));
        }
        next.push((key, Some((company.to_owned(), version))));
    }
    current.extend(next);
    Ok(())
}

/// The largest number of rows one statement carries. Batches are cut into power-of-two
/// chunks up to this, so a handful of prepared statements serve every batch size.
const CHUNK: usize = 64;

/// Runs `prefix VALUES (…), (…) suffix` over `rows` in chunks and maps every row it returns
/// (`RETURNING`) with `map`. Rows are bound as parameters: unlike one JSON array parameter, no
/// value is parsed again per column.
pub(crate) fn each_chunk<T>(
    conn: &Connection,
    prefix: &str,
    suffix: &str,
    columns: usize,
    rows: Vec<Vec<Value>>,
    mut map: impl FnMut(&rusqlite::Row<'_>) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    let mut returned = Vec::new();
    let mut rest = rows.as_slice();
    while !rest.is_empty() {
        let remaining = rest.len();
        let size = if remaining >= CHUNK { CHUNK } else { 1 << (usize::BITS - 1 - remaining.leading_zeros()) };
        let mut sql = String::with_capacity(prefix.len() + suffix.len() + size * columns * 5);
        sql.push_str(prefix);
        sql.push_str(" VALUES ");
        // Anonymous `?` placeholders: SQLite finds a named parameter by a linear search, which
        // made binding hundreds of `$N` parameters quadratic.
        for row in 0..size {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..columns {
                sql.push_str(if column == 0 { "?" } else { ", ?" });
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let (chunk, after) = rest.split_at(size);
        rest = after;
        let mut statement = conn.prepare_cached(&sql)?;
        let mut result = statement.query(rusqlite::params_from_iter(chunk.iter().flatten()))?;
        while let Some(row) = result.next()? {
            returned.push(map(row)?);
        }
    }
    Ok(returned)
}

fn write_sessions(
    conn: &Connection,
    inserts: &[&CompanyTestSession],
    updates: &[&CompanyTestSession],
) -> Result<(), Failure> {
    if !inserts.is_empty() {
        let rows = inserts
            .iter()
            .map(|s| {
                let row = SessionRow::of(s)?;
                Ok(vec![
                    text(row.key.id),
                    text(row.key.company_id),
                    text(row.test_id),
                    Value::Integer(row.key.version),
                    text(row.status),
                    text(row.candidate_email),
                    opt_text(row.framework_id),
                    Value::Integer(row.create_date),
                    opt_int(row.finish_date),
                    opt_text(row.greenhouse_candidate_id),
                    opt_text(row.greenhouse_application_id),
                    opt_text(row.verification_status),
                    Value::Text(row.doc),
                ])
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        each_chunk(
            conn,
            "INSERT INTO sessions (id, company_id, test_id, version, status, candidate_email, framework_id, create_date, \
             finish_date, greenhouse_candidate_id, greenhouse_application_id, verification_status, doc)",
            "",
            13,
            rows,
            |_| Ok(()),
        )?;
    }
    if !updates.is_empty() {
        let rows = updates
            .iter()
            .map(|s| {
                let row = SessionRow::of(s)?;
                Ok(vec![
                    text(row.key.id),
                    Value::Integer(row.key.version),
                    text(row.status),
                    opt_int(row.finish_date),
                    opt_text(row.verification_status),
                    Value::Text(row.doc),
                ])
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let updated = each_chunk(
            conn,
            "UPDATE sessions SET version = u.column2, status = u.column3, finish_date = u.column4, \
             verification_status = u.column5, doc = u.column6 FROM (",
            ") AS u WHERE sessions.id = u.column1 RETURNING sessions.id",
            6,
            rows,
            |_| Ok(()),
        )?;
        if updated.len() != updates.len() {
            return Err(StoreError::Unavailable("a checked session update found no row".into()).into());
        }
    }
    Ok(())
}

fn write_timers(conn: &Connection, sessions: &[&CompanyTestSession]) -> Result<(), Failure> {
    let mut due = Vec::new();
    let mut none = Vec::new();
    for session in sessions {
        match TimerRow::of(session) {
            Some(timer) => due.push(vec![
                text(timer.session_id),
                text(timer.company_id),
                text(timer.kind),
                Value::Integer(timer.due_at),
            ]),
            None => none.push(session.id.as_str()),
        }
    }
    if !due.is_empty() {
        each_chunk(
            conn,
            "INSERT INTO timers (session_id, company_id, kind, due_at)",
            "ON CONFLICT (session_id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at",
            4,
            due,
            |_| Ok(()),
        )?;
    }
    if !none.is_empty() {
        conn.prepare_cached("DELETE FROM timers WHERE session_id IN (SELECT value FROM json_each(?1))")?
            .execute([serde_json::to_string(&none).expect("strings encode")])?;
    }
    Ok(())
}

/// Inserts the accepted changes' events in firing order and fans them out; returns each
/// accepted change's events with their outbox positions.
fn insert_events(
    conn: &Connection,
    changes: &[Change],
    accepted: &[usize],
    lease_until: Option<Timestamp>,
    leased: &mut Vec<ClaimedDelivery>,
) -> Result<Vec<Applied>, Failure> {
    let mut rows = Vec::new();
    let mut stored: Vec<Vec<StoredEvent>> = Vec::with_capacity(accepted.len());
    for &index in accepted {
        let mut events = Vec::with_capacity(changes[index].events.len());
        for event in &changes[index].events {
            let id = new_event_id();
            let row = EventRow::of(&id, event);
            rows.push(vec![
                text(row.id),
                text(row.company_id),
                opt_text(row.session_id),
                opt_text(row.test_id),
                text(row.kind),
                Value::Integer(row.triggered_on),
                Value::Text(row.payload),
            ]);
            events.push(StoredEvent::unpositioned(id, event));
        }
        stored.push(events);
    }
    if rows.is_empty() {
        return Ok(stored.into_iter().map(|events| Applied { events }).collect());
    }
    let assigned = each_chunk(
        conn,
        "INSERT INTO events (id, company_id, session_id, test_id, kind, triggered_on, payload)",
        "RETURNING seq, id",
        7,
        rows,
        |row| Ok((row.get::<_, String>("id")?, row.get::<_, i64>("seq")?)),
    )?;
    let seqs: HashMap<String, i64> = assigned.into_iter().collect();
    for event in stored.iter_mut().flatten() {
        event.seq =
            *seqs.get(event.id.as_str()).ok_or_else(|| StoreError::Unavailable("an event got no position".into()))?;
    }
    let first = seqs.values().min().copied().unwrap_or(0);
    let last = seqs.values().max().copied().unwrap_or(0);
    let fanned = fan_out_range(conn, first, last, lease_until)?;
    if !fanned.is_empty() {
        let events: HashMap<i64, &StoredEvent> = stored.iter().flatten().map(|e| (e.seq, e)).collect();
        for (delivery_id, seq, webhook_id) in fanned {
            let event = events.get(&seq).ok_or_else(|| StoreError::Unavailable("a delivery lost its event".into()))?;
            leased.push(ClaimedDelivery {
                delivery_id,
                claim: 1,
                attempts: 0,
                webhook_id: WebhookId::parse(webhook_id).map_err(|err| StoreError::Corrupt(err.to_string()))?,
                event: (*event).clone(),
                probe: false,
            });
        }
    }
    Ok(stored.into_iter().map(|events| Applied { events }).collect())
}

/// One delivery per (event, subscribed live webhook) for the events `first..=last`. Within one
/// (webhook, order key) only the first unfinished delivery is ready: the first of this batch,
/// unless an older one is still queued.
///
/// With `lease_until`, the deliveries that are ready to go are written leased (claim 1) and
/// returned as (delivery id, event seq, webhook id).
fn fan_out_range(
    conn: &Connection,
    first: i64,
    last: i64,
    lease_until: Option<Timestamp>,
) -> Result<Vec<(i64, i64, String)>, Failure> {
    let sql = format!(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, created_at, \
                                 lease_until, claim) \
         SELECT seq, webhook_id, company_id, order_key, state, paused, 0, triggered_on, \
                CASE WHEN ?3 IS NOT NULL AND state = 'ready' AND NOT paused THEN ?3 ELSE 0 END, \
                CASE WHEN ?3 IS NOT NULL AND state = 'ready' AND NOT paused THEN 1 ELSE 0 END \
         FROM (SELECT seq, webhook_id, company_id, order_key, paused, triggered_on, \
                CASE WHEN rn = 1 AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = x.webhook_id \
                     AND p.order_key = x.order_key AND p.state IN ('ready', 'waiting')) THEN 'ready' ELSE 'waiting' END \
                  AS state \
         FROM (SELECT e.seq, w.id AS webhook_id, w.company_id, {key} AS order_key, w.state <> 'active' AS paused, \
                      e.triggered_on, ROW_NUMBER() OVER (PARTITION BY w.id, {key} ORDER BY e.seq) AS rn \
               FROM events e \
               JOIN webhook_subscriptions s ON s.company_id = e.company_id AND s.event = e.kind \
               JOIN webhooks w ON w.id = s.webhook_id AND w.deleted = 0 \
               WHERE e.seq BETWEEN ?1 AND ?2) AS x) \
         ORDER BY seq \
         RETURNING id, event_seq, webhook_id, claim",
        key = crate::delivery::ORDER_KEY_SQL
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(rusqlite::params![first, last, lease_until.map(Timestamp::as_millis)])?;
    let mut leased = Vec::new();
    while let Some(row) = rows.next()? {
        if row.get::<_, i64>("claim")? == 1 {
            leased.push((row.get("id")?, row.get("event_seq")?, row.get("webhook_id")?));
        }
    }
    Ok(leased)
}
