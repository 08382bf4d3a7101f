//! Webhooks and their delivery queue on SQLite.
//!
//! Queue invariants, kept by every statement here:
//! - within one (webhook, order key) at most one delivery is `ready`, the oldest unfinished
//!   one; the rest are `waiting` (per-session order);
//! - `paused` is set on the unfinished deliveries of every webhook that is not active, so the
//!   claim of healthy work reads one partial index and never wades through a dead endpoint's
//!   backlog; an unhealthy webhook gets one probe at a time instead.

use screenhook_domain::{
    CompanyId, EventId, EventKind, Millis, SessionId, Timestamp, Webhook, WebhookHealth, WebhookId, WebhookState,
};
use screenhook_store::{
    AttemptRecord, AttemptResult, AttemptRow, ClaimedDelivery, DeliveryRow, DeliveryState, HealthPolicy, Notification,
    SecretKeys, StoreError, StoredEvent, rows::DocumentRow,
};
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params, types::Value};

use crate::{Failure, batch::each_chunk, corrupt, decode_event, is_unique_violation, opt_int, opt_text, text};

/// The order key of an event: its session, else its test, else its live interview, else the
/// event alone (COALESCE stops at the first that is there, so only interview events are parsed).
pub(crate) const ORDER_KEY_SQL: &str = "COALESCE(e.session_id, 'test:' || e.test_id, \
     'interview:' || json_extract(e.payload, '$.interviewId'), 'event:' || e.id)";

/// Fans one committed event out to every live webhook of its company subscribed to its kind.
/// Fresh deliveries are due at once (`next_attempt_at` 0), whatever clock the company runs on.
pub(crate) fn fan_out(conn: &Connection, event: &StoredEvent, order_key: &str) -> Result<(), Failure> {
    conn.prepare_cached(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, created_at) \
         SELECT ?1, w.id, w.company_id, ?2, \
                CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.id AND p.order_key = ?2 \
                                  AND p.state IN ('ready', 'waiting')) THEN 'waiting' ELSE 'ready' END, \
                w.state <> 'active', 0, ?3 \
         FROM webhook_subscriptions s JOIN webhooks w ON w.id = s.webhook_id \
         WHERE s.company_id = ?4 AND s.event = ?5 AND w.deleted = 0",
    )?
    .execute(params![event.seq, order_key, event.triggered_on.as_millis(), event.company_id.as_str(), event.kind.name()])?;
    Ok(())
}

pub(crate) fn decode_webhook(row: &Row<'_>) -> Result<(Webhook, WebhookHealth), Failure> {
    let doc: String = row.get("doc")?;
    let webhook: Webhook = serde_json::from_str(&doc).map_err(|err| corrupt(format!("webhook: {err}")))?;
    let state: String = row.get("state")?;
    let health = WebhookHealth {
        state: WebhookState::parse(&state).ok_or_else(|| corrupt(format!("webhook state {state:?}")))?,
        consecutive_failures: row.get::<_, i64>("consecutive_failures")? as u32,
        probe_after: Timestamp::from_millis(row.get("probe_after")?),
    };
    Ok((webhook, health))
}

fn write_subscriptions(conn: &Connection, webhook: &Webhook) -> Result<(), Failure> {
    conn.prepare_cached("DELETE FROM webhook_subscriptions WHERE webhook_id = ?1")?.execute([webhook.id.as_str()])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO webhook_subscriptions (company_id, event, webhook_id) VALUES (?1, ?2, ?3)",
    )?;
    for kind in &webhook.events {
        insert.execute(params![webhook.company_id.as_str(), kind.name(), webhook.id.as_str()])?;
    }
    Ok(())
}

/// See [`screenhook_store::Store::reseal_secrets`]. Like every write job it commits whole or
/// not at all, so a crash never leaves a secret half-rewritten.
pub(crate) fn reseal_secrets(conn: &Connection, keys: &SecretKeys) -> Result<u64, Failure> {
    let mut stale = Vec::new();
    {
        let mut statement = conn.prepare("SELECT id, doc FROM webhooks")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let (id, doc): (String, String) = (row.get(0)?, row.get(1)?);
            let stored: Webhook = serde_json::from_str(&doc).map_err(|err| corrupt(format!("webhook {id}: {err}")))?;
            if keys.needs_reseal(&stored) {
                stale.push(stored);
            }
        }
    }
    for stored in &stale {
        let resealed = keys.seal_webhook(&keys.open_webhook(stored.clone())?)?;
        let row = DocumentRow::webhook(&resealed)?;
        conn.prepare_cached("UPDATE webhooks SET doc = ?2 WHERE id = ?1")?.execute(params![row.id, row.doc])?;
    }
    Ok(stale.len() as u64)
}

pub(crate) fn insert_webhook(conn: &Connection, webhook: &Webhook) -> Result<(), Failure> {
    let row = DocumentRow::webhook(webhook)?;
    let res = conn
        .prepare_cached(
            "INSERT INTO webhooks (id, company_id, state, created_at, doc) VALUES (?1, ?2, 'active', ?3, ?4)",
        )?
        .execute(params![row.id, row.company_id, row.created_at, row.doc]);
    match res {
        Err(err) if is_unique_violation(&err) => {
            return Err(StoreError::Duplicate { what: format!("webhook {}", webhook.id) }.into());
        }
        other => other?,
    };
    write_subscriptions(conn, webhook)
}

pub(crate) fn update_webhook(conn: &Connection, webhook: &Webhook) -> Result<(), Failure> {
    let row = DocumentRow::webhook(webhook)?;
    let updated = conn
        .prepare_cached("UPDATE webhooks SET doc = ?3 WHERE id = ?1 AND company_id = ?2 AND deleted = 0")?
        .execute(params![row.id, row.company_id, row.doc])?;
    if updated != 1 {
        return Err(StoreError::Conflict {
            aggregate: "webhook",
            id: webhook.id.to_string(),
            expected: "an existing webhook".into(),
        }
        .into());
    }
    write_subscriptions(conn, webhook)
}

pub(crate) fn delete_webhook(conn: &Connection, company: &CompanyId, id: &WebhookId) -> Result<bool, Failure> {
    let deleted = conn
        .prepare_cached("UPDATE webhooks SET deleted = 1 WHERE id = ?1 AND company_id = ?2 AND deleted = 0")?
        .execute([id.as_str(), company.as_str()])?;
    if deleted == 0 {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM webhook_subscriptions WHERE webhook_id = ?1")?.execute([id.as_str()])?;
    conn.prepare_cached(
        "UPDATE deliveries INDEXED BY deliveries_queue SET state = 'cancelled', lease_until = 0 \
         WHERE webhook_id = ?1 AND state IN ('ready', 'waiting')",
    )?
    .execute([id.as_str()])?;
    Ok(true)
}

pub(crate) fn restore_webhook(
    conn: &Connection,
    company: &CompanyId,
    id: &WebhookId,
    now: Timestamp,
) -> Result<bool, Failure> {
    let restored = conn
        .prepare_cached(
            "UPDATE webhooks SET state = 'active', consecutive_failures = 0, probe_after = 0, probe_lease_until = 0 \
             WHERE id = ?1 AND company_id = ?2 AND deleted = 0",
        )?
        .execute([id.as_str(), company.as_str()])?;
    if restored == 0 {
        return Ok(false);
    }
    // Flush: everything queued is due now.
    conn.prepare_cached(
        "UPDATE deliveries INDEXED BY deliveries_queue SET paused = 0, next_attempt_at = MIN(next_attempt_at, ?2) \
         WHERE webhook_id = ?1 AND state IN ('ready', 'waiting')",
    )?
    .execute(params![id.as_str(), now.as_millis()])?;
    Ok(true)
}

/// Claims due work: healthy deliveries first, then one probe per unhealthy webhook due one.
/// Each claimed delivery comes with its event, read in the same transaction.
pub(crate) fn claim(
    conn: &Connection,
    now: Timestamp,
    lease: Millis,
    limit: u32,
    saturated: &[WebhookId],
) -> Result<Vec<ClaimedDelivery>, Failure> {
    let until = now.plus(lease).as_millis();
    let saturated =
        serde_json::to_string(&saturated.iter().map(|w| w.as_str()).collect::<Vec<_>>()).expect("strings encode");
    let mut claimed = Vec::new();
    {
        let mut statement = conn.prepare_cached(
            "UPDATE deliveries SET lease_until = ?2, claim = claim + 1 \
             WHERE id IN (SELECT id FROM deliveries \
                          WHERE state = 'ready' AND paused = 0 AND due_at <= ?1 \
                            AND webhook_id NOT IN (SELECT value FROM json_each(?4)) \
                          ORDER BY due_at, id LIMIT ?3) \
             RETURNING id, claim, attempts, webhook_id, event_seq",
        )?;
        let mut rows = statement.query(params![now.as_millis(), until, i64::from(limit), saturated])?;
        while let Some(row) = rows.next()? {
            claimed.push(claimed_row(row, false)?);
        }
    }

    let probes: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM webhooks WHERE state = 'unhealthy' AND deleted = 0 AND probe_after <= ?1 \
             AND probe_lease_until <= ?1 ORDER BY probe_after LIMIT 64",
        )?
        .query_map([now.as_millis()], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for webhook in probes {
        // Prefer a delivery that never failed: a fresh one tells most about the endpoint.
        let probe = conn
            .prepare_cached(
                "UPDATE deliveries SET lease_until = ?2, claim = claim + 1 \
                 WHERE id = (SELECT id FROM deliveries WHERE webhook_id = ?3 AND state = 'ready' AND lease_until <= ?1 \
                             ORDER BY attempts, id LIMIT 1) \
                 RETURNING id, claim, attempts, webhook_id, event_seq",
            )?
            .query_row(params![now.as_millis(), until, webhook], |row| Ok(claimed_row(row, true)))
            .optional()?
            .transpose()?;
        if let Some(probe) = probe {
            conn.prepare_cached("UPDATE webhooks SET probe_lease_until = ?2 WHERE id = ?1")?
                .execute(params![webhook, until])?;
            claimed.push(probe);
        }
    }
    let seqs: Vec<i64> = claimed.iter().map(|c| c.4).collect();
    let events = events_by_seq(conn, &seqs)?;
    assemble(claimed, &events)
}

/// A claimed row: (delivery id, claim, attempts, webhook, event seq, probe).
type ClaimedRow = (i64, i64, u32, WebhookId, i64, bool);

fn claimed_row(row: &Row<'_>, probe: bool) -> Result<ClaimedRow, Failure> {
    let webhook: String = row.get("webhook_id")?;
    Ok((
        row.get("id")?,
        row.get("claim")?,
        row.get::<_, i64>("attempts")? as u32,
        WebhookId::parse(webhook).map_err(corrupt)?,
        row.get("event_seq")?,
        probe,
    ))
}

/// Joins claimed rows with their events.
fn assemble(claimed: Vec<ClaimedRow>, events: &[StoredEvent]) -> Result<Vec<ClaimedDelivery>, Failure> {
    let by_seq: HashMap<i64, &StoredEvent> = events.iter().map(|e| (e.seq, e)).collect();
    claimed
        .into_iter()
        .map(|(delivery_id, claim, attempts, webhook_id, seq, probe)| {
            let event =
                by_seq.get(&seq).ok_or_else(|| corrupt(format!("delivery {delivery_id}: event {seq} is missing")))?;
            Ok(ClaimedDelivery { delivery_id, claim, attempts, webhook_id, event: (*event).clone(), probe })
        })
        .collect()
}

fn events_by_seq(conn: &Connection, seqs: &[i64]) -> Result<Vec<StoredEvent>, Failure> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let seqs = serde_json::to_string(seqs).expect("numbers encode");
    let mut statement = conn.prepare_cached(crate::select_events!("WHERE seq IN (SELECT value FROM json_each(?1))"))?;
    let mut rows = statement.query([seqs])?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        events.push(decode_event(row)?);
    }
    Ok(events)
}

/// Records attempts and their consequences in the caller's transaction. A batch of successes
/// (the common case) takes a few statements in all; a batch with any failure is recorded
/// attempt by attempt, in order, because each failure moves its webhook's health.
///
/// Says whether any delivery became due now: a session's next one moved up, or a webhook came
/// back and its queue was unpaused. (Retries fall due later; workers find them by polling.)
pub(crate) fn record(conn: &Connection, attempts: &[AttemptRecord], policy: &HealthPolicy) -> Result<bool, Failure> {
    if attempts.iter().all(|a| a.result == AttemptResult::Delivered) {
        return record_delivered(conn, attempts);
    }
    let mut due = false;
    for attempt in attempts {
        due |= record_one(conn, attempt, policy)?;
    }
    Ok(due)
}

/// The all-delivered fast path: the same effects as [`record_one`] for each attempt.
fn record_delivered(conn: &Connection, attempts: &[AttemptRecord]) -> Result<bool, Failure> {
    let rows = attempts
        .iter()
        .map(|a| {
            vec![
                Value::Integer(a.delivery_id),
                Value::Integer(a.claim),
                opt_int(a.status.map(i64::from)),
                Value::Integer(a.at.as_millis()),
            ]
        })
        .collect();
    // Only deliveries still held under this claim count (fencing), as in `record_one`: ready
    // with a lease, which records, releases and cancels all clear.
    let updated = each_chunk(
        conn,
        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, lease_until = 0, \
                last_status = v.column3, last_error = NULL, finished_at = v.column4 FROM (",
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.claim = v.column2 AND deliveries.lease_until > 0 \
         RETURNING deliveries.id, deliveries.attempts, deliveries.order_key",
        4,
        rows,
        |row| Ok((row.get::<_, i64>(0)?, (row.get::<_, i64>(1)?, row.get::<_, String>(2)?))),
    )?;
    if updated.is_empty() {
        return Ok(false);
    }
    let recorded: HashMap<i64, (i64, String)> = updated.into_iter().collect();
    let mut log = Vec::with_capacity(recorded.len());
    let mut next_in_line = Vec::with_capacity(recorded.len());
    let mut webhooks: Vec<&WebhookId> = Vec::new();
    for attempt in attempts {
        let Some((attempt_no, order_key)) = recorded.get(&attempt.delivery_id) else { continue };
        log.push(vec![
            Value::Integer(attempt.delivery_id),
            text(attempt.webhook_id.as_str()),
            Value::Integer(*attempt_no),
            Value::Integer(attempt.at.as_millis()),
            opt_int(attempt.status.map(i64::from)),
            opt_text(attempt.error_class.as_deref()),
            Value::Integer(i64::from(attempt.latency_ms)),
            text(&attempt.excerpt),
        ]);
        next_in_line.push(vec![text(attempt.webhook_id.as_str()), text(order_key)]);
        if !webhooks.contains(&&attempt.webhook_id) {
            webhooks.push(&attempt.webhook_id);
        }
    }
    each_chunk(
        conn,
        "INSERT INTO attempts (delivery_id, webhook_id, attempt, at, status, error_class, latency_ms, excerpt)",
        "",
        8,
        log,
        |_| Ok(()),
    )?;
    // Each finished delivery's session moves up: its next waiting delivery becomes ready.
    let promoted = each_chunk(
        conn,
        "UPDATE deliveries SET state = 'ready', \
                paused = (SELECT w.state <> 'active' FROM webhooks w WHERE w.id = deliveries.webhook_id) \
         WHERE id IN (SELECT (SELECT d.id FROM deliveries d INDEXED BY deliveries_queue \
                              WHERE d.webhook_id = v.column1 AND d.order_key = v.column2 \
                                AND d.state IN ('ready', 'waiting') AND d.state = 'waiting' ORDER BY d.id LIMIT 1) \
                      FROM (",
        ") AS v) RETURNING id",
        2,
        next_in_line,
        |_| Ok(()),
    )?;
    let mut due = !promoted.is_empty();
    for webhook in webhooks {
        due |= webhook_succeeded(conn, webhook)?;
    }
    Ok(due)
}

fn record_one(conn: &Connection, attempt: &AttemptRecord, policy: &HealthPolicy) -> Result<bool, Failure> {
    let (state, next_attempt_at, finished_at) = match attempt.result {
        AttemptResult::Delivered => ("delivered", None, Some(attempt.at.as_millis())),
        AttemptResult::RetryAt(at) => ("ready", Some(at.as_millis()), None),
        AttemptResult::GiveUp => ("failed", None, Some(attempt.at.as_millis())),
    };
    let updated = conn
        .prepare_cached(
            "UPDATE deliveries SET state = ?3, attempts = attempts + 1, next_attempt_at = COALESCE(?4, next_attempt_at), \
                    lease_until = 0, last_status = ?5, last_error = ?6, finished_at = ?7 \
             WHERE id = ?1 AND claim = ?2 AND lease_until > 0 \
             RETURNING order_key, attempts, paused",
        )?
        .query_row(
            params![
                attempt.delivery_id,
                attempt.claim,
                state,
                next_attempt_at,
                attempt.status.map(i64::from),
                attempt.error_class.as_deref(),
                finished_at,
            ],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, bool>(2)?)),
        )
        .optional()?;
    // Another worker claimed it after our lease ran out (or the webhook was deleted): its
    // outcome stands, ours is dropped.
    let Some((order_key, attempt_no, paused)) = updated else { return Ok(false) };

    conn.prepare_cached(
        "INSERT INTO attempts (delivery_id, webhook_id, attempt, at, status, error_class, latency_ms, excerpt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        attempt.delivery_id,
        attempt.webhook_id.as_str(),
        attempt_no,
        attempt.at.as_millis(),
        attempt.status.map(i64::from),
        attempt.error_class.as_deref(),
        i64::from(attempt.latency_ms),
        attempt.excerpt,
    ])?;

    let mut promoted = 0;
    if state != "ready" {
        // Finished (delivered or given up): the session's next delivery moves up. The
        // repeated state term lets SQLite use the partial queue index, which holds only
        // unfinished deliveries (a webhook's whole history can be long).
        promoted = conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'ready', paused = ?3 WHERE id = \
             (SELECT id FROM deliveries INDEXED BY deliveries_queue \
              WHERE webhook_id = ?1 AND order_key = ?2 AND state IN ('ready', 'waiting') AND state = 'waiting' \
              ORDER BY id LIMIT 1)",
            )?
            .execute(params![attempt.webhook_id.as_str(), order_key, paused])?;
    }
    let recovered = if attempt.result == AttemptResult::Delivered {
        webhook_succeeded(conn, &attempt.webhook_id)?
    } else {
        webhook_failed(conn, attempt, policy)?;
        false
    };
    Ok((promoted > 0 && !paused) || recovered)
}

/// Clears a webhook's failures; says whether it came back to active (its queue unpaused).
fn webhook_succeeded(conn: &Connection, webhook: &WebhookId) -> Result<bool, Failure> {
    // A disabled webhook stays disabled until someone tests and saves it.
    let recovered: Option<String> = conn
        .prepare_cached(
            "UPDATE webhooks SET state = CASE WHEN state = 'disabled' THEN 'disabled' ELSE 'active' END, \
                    consecutive_failures = 0, probe_lease_until = 0 \
             WHERE id = ?1 AND (consecutive_failures <> 0 OR state = 'unhealthy') RETURNING state",
        )?
        .query_row([webhook.as_str()], |row| row.get(0))
        .optional()?;
    let active = recovered.as_deref() == Some("active");
    if active {
        set_paused(conn, webhook, false)?;
    }
    Ok(active)
}

fn webhook_failed(conn: &Connection, attempt: &AttemptRecord, policy: &HealthPolicy) -> Result<(), Failure> {
    let row = conn
        .prepare_cached(
            "SELECT state, consecutive_failures, company_id, probe_lease_until FROM webhooks WHERE id = ?1 AND deleted = 0",
        )?
        .query_row([attempt.webhook_id.as_str()], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?))
        })
        .optional()?;
    let Some((state, failures, company, probe_lease_until)) = row else { return Ok(()) };
    let state = WebhookState::parse(&state).ok_or_else(|| corrupt(format!("webhooks.state {state:?}")))?;
    let Some(outcome) = policy.after_failure(state, failures as u32, probe_lease_until > 0, attempt) else {
        return Ok(());
    };
    let health = &outcome.health;
    conn.prepare_cached(
        "UPDATE webhooks SET state = ?2, consecutive_failures = ?3, probe_after = ?4, probe_lease_until = 0 WHERE id = ?1",
    )?
    .execute(params![
        attempt.webhook_id.as_str(),
        health.state.as_str(),
        i64::from(health.consecutive_failures),
        health.probe_after.as_millis()
    ])?;
    if outcome.pause_queue {
        set_paused(conn, &attempt.webhook_id, true)?;
    }
    if let Some(email) = outcome.owner_email {
        conn.prepare_cached(
            "INSERT INTO notifications (webhook_id, company_id, consecutive_failures, disabled, last_error, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            attempt.webhook_id.as_str(),
            company,
            i64::from(health.consecutive_failures),
            email.disabled,
            email.last_error,
            attempt.at.as_millis(),
        ])?;
    }
    Ok(())
}

fn set_paused(conn: &Connection, webhook: &WebhookId, paused: bool) -> Result<(), Failure> {
    conn.prepare_cached(
        "UPDATE deliveries INDEXED BY deliveries_queue SET paused = ?2 \
         WHERE webhook_id = ?1 AND state IN ('ready', 'waiting') AND paused <> ?2",
    )?
    .execute(params![webhook.as_str(), paused])?;
    Ok(())
}

/// Queues one event to one webhook again, behind the session's unfinished deliveries.
pub(crate) fn replay(
    conn: &Connection,
    company: &CompanyId,
    webhook: &WebhookId,
    event: &EventId,
    now: Timestamp,
) -> Result<Option<i64>, Failure> {
    let sql = format!(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, replay, created_at) \
         SELECT e.seq, w.id, w.company_id, {ORDER_KEY_SQL}, \
                CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.id AND p.order_key = {ORDER_KEY_SQL} \
                                  AND p.state IN ('ready', 'waiting')) THEN 'waiting' ELSE 'ready' END, \
                w.state <> 'active', 0, 1, ?4 \
         FROM events e JOIN webhooks w ON w.id = ?2 AND w.company_id = ?1 AND w.deleted = 0 \
         WHERE e.id = ?3 AND e.company_id = ?1 \
         RETURNING id"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![company.as_str(), webhook.as_str(), event.as_str(), now.as_millis()], |row| row.get(0))
        .optional()?)
}

/// Queues again every delivery to `webhook` since `since` that failed for good.
pub(crate) fn recover(
    conn: &Connection,
    company: &CompanyId,
    webhook: &WebhookId,
    since: Timestamp,
    now: Timestamp,
) -> Result<u32, Failure> {
    let events: Vec<String> = conn
        .prepare_cached(
            "SELECT DISTINCT e.id FROM deliveries d JOIN events e ON e.seq = d.event_seq \
             WHERE d.company_id = ?1 AND d.webhook_id = ?2 AND d.state = 'failed' AND d.created_at >= ?3 \
               AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.webhook_id = d.webhook_id AND r.event_seq = d.event_seq \
                               AND r.state IN ('ready', 'waiting', 'delivered')) \
             ORDER BY d.event_seq",
        )?
        .query_map(params![company.as_str(), webhook.as_str(), since.as_millis()], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut queued = 0;
    for event in events {
        let event = EventId::parse(event).map_err(corrupt)?;
        if replay(conn, company, webhook, &event, now)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

/// `SELECT` of delivery log rows, followed by the rest of the query.
macro_rules! select_deliveries {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.webhook_id, e.id AS event_id, e.kind, e.session_id, d.state, d.paused, d.attempts, \
             d.next_attempt_at, d.last_status, d.last_error, d.replay, d.created_at, d.finished_at \
             FROM deliveries d JOIN events e ON e.seq = d.event_seq ",
            $rest
        )
    };
}

pub(crate) const DELIVERY_BY_ID_SQL: &str = select_deliveries!("WHERE d.id = ?1");

/// Parameters: company, webhook, event, session (each optional but the company), before, limit.
pub(crate) const DELIVERY_FILTER_SQL: &str = select_deliveries!(
    "WHERE d.company_id = ?1 AND (?2 IS NULL OR d.webhook_id = ?2) AND (?3 IS NULL OR e.id = ?3) \
     AND (?4 IS NULL OR e.session_id = ?4) AND (?5 IS NULL OR d.id < ?5) ORDER BY d.id DESC LIMIT ?6"
);

pub(crate) fn decode_delivery(row: &Row<'_>) -> Result<DeliveryRow, Failure> {
    let bad = |what: &str| corrupt(format!("delivery {what}"));
    let kind: String = row.get("kind")?;
    let state: String = row.get("state")?;
    let session: Option<String> = row.get("session_id")?;
    Ok(DeliveryRow {
        id: row.get("id")?,
        webhook_id: WebhookId::parse(row.get::<_, String>("webhook_id")?).map_err(|_| bad("webhook id"))?,
        event_id: EventId::parse(row.get::<_, String>("event_id")?).map_err(|_| bad("event id"))?,
        event_kind: EventKind::from_name(&kind).ok_or_else(|| bad("kind"))?,
        session_id: session.map(SessionId::parse).transpose().map_err(|_| bad("session id"))?,
        state: DeliveryState::parse(&state).ok_or_else(|| bad("state"))?,
        paused: row.get("paused")?,
        attempts: row.get::<_, i64>("attempts")? as u32,
        next_attempt_at: Timestamp::from_millis(row.get("next_attempt_at")?),
        last_status: row.get::<_, Option<i64>>("last_status")?.map(|s| s as u16),
        last_error: row.get("last_error")?,
        replay: row.get("replay")?,
        created_at: Timestamp::from_millis(row.get("created_at")?),
        finished_at: row.get::<_, Option<i64>>("finished_at")?.map(Timestamp::from_millis),
    })
}

/// The delivery log's chart in one statement (one snapshot): a webhook's deliveries created
/// in the window, counted by bucket and state, and its attempts made in the window, counted
/// by bucket and latency (the store's callers turn those into percentiles). The attempts are
/// the company's when the webhook is: webhook ids are never reused.
///
/// Parameters: company, webhook, since, until, bucket length (ms).
pub(crate) const DELIVERY_SERIES_SQL: &str = "\
    SELECT 'deliveries' AS kind, (created_at - ?3) / ?5 AS bucket, state, NULL AS latency_ms, COUNT(*) AS n \
    FROM deliveries INDEXED BY deliveries_by_webhook_created \
    WHERE webhook_id = ?2 AND company_id = ?1 AND created_at >= ?3 AND created_at < ?4 \
    GROUP BY 2, 3 \
    UNION ALL \
    SELECT 'attempts', (at - ?3) / ?5, NULL, latency_ms, COUNT(*) \
    FROM attempts INDEXED BY attempts_by_webhook \
    WHERE webhook_id = ?2 AND at >= ?3 AND at < ?4 \
      AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = ?2 AND w.company_id = ?1) \
    GROUP BY 2, 4";

/// A row of [`DELIVERY_SERIES_SQL`].
pub(crate) enum SeriesCount {
    Deliveries { bucket: i64, state: DeliveryState, count: u64 },
    Latency { bucket: i64, latency_ms: u32, count: u64 },
}

pub(crate) fn decode_series_count(row: &Row<'_>) -> Result<SeriesCount, Failure> {
    let kind: String = row.get("kind")?;
    let bucket: i64 = row.get("bucket")?;
    let count = row.get::<_, i64>("n")?.max(0) as u64;
    if kind == "deliveries" {
        let state: String = row.get("state")?;
        let state = DeliveryState::parse(&state).ok_or_else(|| corrupt(format!("delivery state {state:?}")))?;
        Ok(SeriesCount::Deliveries { bucket, state, count })
    } else {
        let latency_ms = row.get::<_, i64>("latency_ms")?.clamp(0, i64::from(u32::MAX)) as u32;
        Ok(SeriesCount::Latency { bucket, latency_ms, count })
    }
}

pub(crate) fn decode_attempt(row: &Row<'_>) -> Result<AttemptRow, Failure> {
    Ok(AttemptRow {
        delivery_id: row.get("delivery_id")?,
        attempt: row.get::<_, i64>("attempt")? as u32,
        at: Timestamp::from_millis(row.get("at")?),
        status: row.get::<_, Option<i64>>("status")?.map(|s| s as u16),
        error_class: row.get("error_class")?,
        latency_ms: row.get::<_, i64>("latency_ms")? as u32,
        excerpt: row.get("excerpt")?,
    })
}

pub(crate) fn decode_notification(row: &Row<'_>) -> Result<Notification, Failure> {
    let bad = |err: screenhook_domain::IdError| corrupt(format!("notification: {err}"));
    Ok(Notification {
        id: row.get("id")?,
        webhook_id: WebhookId::parse(row.get::<_, String>("webhook_id")?).map_err(bad)?,
        company_id: CompanyId::parse(row.get::<_, String>("company_id")?).map_err(bad)?,
        consecutive_failures: row.get::<_, i64>("consecutive_failures")? as u32,
        disabled: row.get("disabled")?,
        last_error: row.get("last_error")?,
        created_at: Timestamp::from_millis(row.get("created_at")?),
    })
}
