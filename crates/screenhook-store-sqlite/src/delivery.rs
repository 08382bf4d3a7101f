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
    AttemptRecord, AttemptResult, AttemptRow, ClaimedDelivery, DeliveryFilter, DeliveryRow, DeliveryState,
    HealthPolicy, Notification, StoreError, StoredEvent,
};
use std::collections::HashMap;

use sqlx::{Row, SqliteConnection, sqlite::SqliteRow};

use crate::{decode_event, unavailable, writer::to_doc};

/// The order key of an event: its session, else its test, else the event alone.
pub(crate) const ORDER_KEY_SQL: &str = "COALESCE(e.session_id, 'test:' || e.test_id, 'event:' || e.id)";

/// Fans one committed event out to every live webhook of its company subscribed to its kind.
/// Fresh deliveries are due at once (`next_attempt_at` 0), whatever clock the company runs on.
pub(crate) async fn fan_out(
    conn: &mut SqliteConnection,
    event: &StoredEvent,
    order_key: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, created_at) \
         SELECT $1, w.id, w.company_id, $2, \
                CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.id AND p.order_key = $2 \
                                  AND p.state IN ('ready', 'waiting')) THEN 'waiting' ELSE 'ready' END, \
                w.state <> 'active', 0, $3 \
         FROM webhook_subscriptions s JOIN webhooks w ON w.id = s.webhook_id \
         WHERE s.company_id = $4 AND s.event = $5 AND w.deleted = 0",
    )
    .bind(event.seq)
    .bind(order_key)
    .bind(event.triggered_on.as_millis())
    .bind(event.company_id.as_str())
    .bind(event.kind.name())
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(unavailable)
}

pub(crate) fn decode_webhook(row: &SqliteRow) -> Result<(Webhook, WebhookHealth), StoreError> {
    let doc: &str = row.try_get("doc").map_err(unavailable)?;
    let webhook: Webhook = serde_json::from_str(doc).map_err(|err| StoreError::Corrupt(format!("webhook: {err}")))?;
    let state: &str = row.try_get("state").map_err(unavailable)?;
    let health = WebhookHealth {
        state: WebhookState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("webhook state {state:?}")))?,
        consecutive_failures: row.try_get::<i64, _>("consecutive_failures").map_err(unavailable)? as u32,
        probe_after: Timestamp::from_millis(row.try_get("probe_after").map_err(unavailable)?),
    };
    Ok((webhook, health))
}

pub(crate) const WEBHOOK_COLUMNS: &str = "doc, state, consecutive_failures, probe_after";

async fn write_subscriptions(conn: &mut SqliteConnection, webhook: &Webhook) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM webhook_subscriptions WHERE webhook_id = $1")
        .bind(webhook.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    for kind in &webhook.events {
        sqlx::query("INSERT OR IGNORE INTO webhook_subscriptions (company_id, event, webhook_id) VALUES ($1, $2, $3)")
            .bind(webhook.company_id.as_str())
            .bind(kind.name())
            .bind(webhook.id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

pub(crate) async fn insert_webhook(conn: &mut SqliteConnection, webhook: &Webhook) -> Result<(), StoreError> {
    let res =
        sqlx::query("INSERT INTO webhooks (id, company_id, state, created_at, doc) VALUES ($1, $2, 'active', $3, $4)")
            .bind(webhook.id.as_str())
            .bind(webhook.company_id.as_str())
            .bind(webhook.created_at.as_millis())
            .bind(to_doc(webhook)?)
            .execute(&mut *conn)
            .await;
    match res {
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
            return Err(StoreError::Duplicate { what: format!("webhook {}", webhook.id) });
        }
        other => other.map_err(unavailable)?,
    };
    write_subscriptions(conn, webhook).await
}

pub(crate) async fn update_webhook(conn: &mut SqliteConnection, webhook: &Webhook) -> Result<(), StoreError> {
    let res = sqlx::query("UPDATE webhooks SET doc = $3 WHERE id = $1 AND company_id = $2 AND deleted = 0")
        .bind(webhook.id.as_str())
        .bind(webhook.company_id.as_str())
        .bind(to_doc(webhook)?)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    if res.rows_affected() != 1 {
        return Err(StoreError::Conflict {
            aggregate: "webhook",
            id: webhook.id.to_string(),
            expected: "an existing webhook".into(),
        });
    }
    write_subscriptions(conn, webhook).await
}

pub(crate) async fn delete_webhook(
    conn: &mut SqliteConnection,
    company: &CompanyId,
    id: &WebhookId,
) -> Result<bool, StoreError> {
    let res = sqlx::query("UPDATE webhooks SET deleted = 1 WHERE id = $1 AND company_id = $2 AND deleted = 0")
        .bind(id.as_str())
        .bind(company.as_str())
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    if res.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM webhook_subscriptions WHERE webhook_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    sqlx::query("UPDATE deliveries INDEXED BY deliveries_queue SET state = 'cancelled', lease_until = 0 WHERE webhook_id = $1 AND state IN ('ready', 'waiting')")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    Ok(true)
}

pub(crate) async fn restore_webhook(
    conn: &mut SqliteConnection,
    company: &CompanyId,
    id: &WebhookId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE webhooks SET state = 'active', consecutive_failures = 0, probe_after = 0, probe_lease_until = 0 \
         WHERE id = $1 AND company_id = $2 AND deleted = 0",
    )
    .bind(id.as_str())
    .bind(company.as_str())
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    if res.rows_affected() == 0 {
        return Ok(false);
    }
    // Flush: everything queued is due now.
    sqlx::query(
        "UPDATE deliveries INDEXED BY deliveries_queue SET paused = 0, next_attempt_at = MIN(next_attempt_at, $2) \
         WHERE webhook_id = $1 AND state IN ('ready', 'waiting')",
    )
    .bind(id.as_str())
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    Ok(true)
}

/// Claims due work: healthy deliveries first, then one probe per unhealthy webhook due one.
pub(crate) async fn claim(
    conn: &mut SqliteConnection,
    now: Timestamp,
    lease: Millis,
    limit: u32,
    saturated: &[WebhookId],
) -> Result<Vec<(i64, i64, u32, WebhookId, i64, bool)>, StoreError> {
    let until = now.plus(lease).as_millis();
    let saturated =
        serde_json::to_string(&saturated.iter().map(|w| w.as_str()).collect::<Vec<_>>()).expect("strings encode");
    let rows = sqlx::query(
        "UPDATE deliveries SET lease_until = $2, claim = claim + 1 \
         WHERE id IN (SELECT id FROM deliveries \
                      WHERE state = 'ready' AND paused = 0 AND due_at <= $1 \
                        AND webhook_id NOT IN (SELECT value FROM json_each($4)) \
                      ORDER BY due_at, id LIMIT $3) \
         RETURNING id, claim, attempts, webhook_id, event_seq",
    )
    .bind(now.as_millis())
    .bind(until)
    .bind(i64::from(limit))
    .bind(&saturated)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        claimed.push(claimed_row(row, false)?);
    }

    let probes: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM webhooks WHERE state = 'unhealthy' AND deleted = 0 AND probe_after <= $1 AND probe_lease_until <= $1 \
         ORDER BY probe_after LIMIT 64",
    )
    .bind(now.as_millis())
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)?;
    for webhook in probes {
        // Prefer a delivery that never failed: a fresh one tells most about the endpoint.
        let row = sqlx::query(
            "UPDATE deliveries SET lease_until = $2, claim = claim + 1 \
             WHERE id = (SELECT id FROM deliveries WHERE webhook_id = $3 AND state = 'ready' AND lease_until <= $1 \
                         ORDER BY attempts, id LIMIT 1) \
             RETURNING id, claim, attempts, webhook_id, event_seq",
        )
        .bind(now.as_millis())
        .bind(until)
        .bind(&webhook)
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
        if let Some(row) = row {
            sqlx::query("UPDATE webhooks SET probe_lease_until = $2 WHERE id = $1")
                .bind(&webhook)
                .bind(until)
                .execute(&mut *conn)
                .await
                .map_err(unavailable)?;
            claimed.push(claimed_row(&row, true)?);
        }
    }
    Ok(claimed)
}

fn claimed_row(row: &SqliteRow, probe: bool) -> Result<(i64, i64, u32, WebhookId, i64, bool), StoreError> {
    let webhook: String = row.try_get("webhook_id").map_err(unavailable)?;
    Ok((
        row.try_get("id").map_err(unavailable)?,
        row.try_get("claim").map_err(unavailable)?,
        row.try_get::<i64, _>("attempts").map_err(unavailable)? as u32,
        WebhookId::parse(webhook).map_err(|err| StoreError::Corrupt(err.to_string()))?,
        row.try_get("event_seq").map_err(unavailable)?,
        probe,
    ))
}

/// Joins claimed rows with their events (read in one query).
pub(crate) fn assemble(
    claimed: Vec<(i64, i64, u32, WebhookId, i64, bool)>,
    events: &[StoredEvent],
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let by_seq: std::collections::HashMap<i64, &StoredEvent> = events.iter().map(|e| (e.seq, e)).collect();
    claimed
        .into_iter()
        .map(|(delivery_id, claim, attempts, webhook_id, seq, probe)| {
            let event = by_seq
                .get(&seq)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery {delivery_id}: event {seq} is missing")))?;
            Ok(ClaimedDelivery { delivery_id, claim, attempts, webhook_id, event: (*event).clone(), probe })
        })
        .collect()
}

pub(crate) async fn events_by_seq(conn: &mut SqliteConnection, seqs: &[i64]) -> Result<Vec<StoredEvent>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let seqs = serde_json::to_string(seqs).expect("numbers encode");
    let rows = sqlx::query(
        "SELECT seq, id, company_id, session_id, test_id, kind, triggered_on, payload FROM events \
         WHERE seq IN (SELECT value FROM json_each($1))",
    )
    .bind(seqs)
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)?;
    rows.iter().map(decode_event).collect()
}

/// Records attempts and their consequences in the caller's transaction. A batch of successes
/// (the common case) takes a few statements in all; a batch with any failure is recorded
/// attempt by attempt, in order, because each failure moves its webhook's health.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    attempts: &[AttemptRecord],
    policy: &HealthPolicy,
) -> Result<(), StoreError> {
    if attempts.iter().all(|a| a.result == AttemptResult::Delivered) {
        return record_delivered(conn, attempts).await;
    }
    for attempt in attempts {
        record_one(conn, attempt, policy).await?;
    }
    Ok(())
}

/// The all-delivered fast path: the same effects as [`record_one`] for each attempt.
async fn record_delivered(conn: &mut SqliteConnection, attempts: &[AttemptRecord]) -> Result<(), StoreError> {
    use crate::batch::{Arg, each_chunk, opt_text, text};
    let rows = attempts
        .iter()
        .map(|a| {
            vec![
                Arg::Int(Some(a.delivery_id)),
                Arg::Int(Some(a.claim)),
                Arg::Int(a.status.map(i64::from)),
                Arg::Int(Some(a.at.as_millis())),
            ]
        })
        .collect();
    // Only deliveries still held under this claim count (fencing), as in `record_one`.
    let updated = each_chunk(
        conn,
        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, lease_until = 0, \
                last_status = v.column3, last_error = NULL, finished_at = v.column4 FROM (",
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.claim = v.column2 AND deliveries.state = 'ready' \
         RETURNING deliveries.id, deliveries.attempts, deliveries.order_key",
        4,
        rows,
    )
    .await?;
    if updated.is_empty() {
        return Ok(());
    }
    let mut recorded: HashMap<i64, (i64, String)> = HashMap::with_capacity(updated.len());
    for row in &updated {
        recorded.insert(
            row.try_get("id").map_err(unavailable)?,
            (row.try_get("attempts").map_err(unavailable)?, row.try_get("order_key").map_err(unavailable)?),
        );
    }
    let mut log = Vec::with_capacity(recorded.len());
    let mut next_in_line = Vec::with_capacity(recorded.len());
    let mut webhooks: Vec<&str> = Vec::new();
    for attempt in attempts {
        let Some((attempt_no, order_key)) = recorded.get(&attempt.delivery_id) else { continue };
        log.push(vec![
            Arg::Int(Some(attempt.delivery_id)),
            text(attempt.webhook_id.as_str()),
            Arg::Int(Some(*attempt_no)),
            Arg::Int(Some(attempt.at.as_millis())),
            Arg::Int(attempt.status.map(i64::from)),
            opt_text(attempt.error_class.as_deref()),
            Arg::Int(Some(i64::from(attempt.latency_ms))),
            text(&attempt.excerpt),
        ]);
        next_in_line.push(vec![text(attempt.webhook_id.as_str()), text(order_key)]);
        if !webhooks.contains(&attempt.webhook_id.as_str()) {
            webhooks.push(attempt.webhook_id.as_str());
        }
    }
    each_chunk(
        conn,
        "INSERT INTO attempts (delivery_id, webhook_id, attempt, at, status, error_class, latency_ms, excerpt)",
        "",
        8,
        log,
    )
    .await?;
    // Each finished delivery's session moves up: its next waiting delivery becomes ready.
    each_chunk(
        conn,
        "UPDATE deliveries SET state = 'ready', \
                paused = (SELECT w.state <> 'active' FROM webhooks w WHERE w.id = deliveries.webhook_id) \
         WHERE id IN (SELECT (SELECT d.id FROM deliveries d INDEXED BY deliveries_queue \
                              WHERE d.webhook_id = v.column1 AND d.order_key = v.column2 \
                                AND d.state IN ('ready', 'waiting') AND d.state = 'waiting' ORDER BY d.id LIMIT 1) \
                      FROM (",
        ") AS v)",
        2,
        next_in_line,
    )
    .await?;
    for webhook in webhooks {
        webhook_succeeded(conn, &WebhookId::parse(webhook).map_err(|err| StoreError::Corrupt(err.to_string()))?)
            .await?;
    }
    Ok(())
}

async fn record_one(
    conn: &mut SqliteConnection,
    attempt: &AttemptRecord,
    policy: &HealthPolicy,
) -> Result<(), StoreError> {
    let (state, next_attempt_at, finished_at) = match attempt.result {
        AttemptResult::Delivered => ("delivered", None, Some(attempt.at.as_millis())),
        AttemptResult::RetryAt(at) => ("ready", Some(at.as_millis()), None),
        AttemptResult::GiveUp => ("failed", None, Some(attempt.at.as_millis())),
    };
    let updated = sqlx::query(
        "UPDATE deliveries SET state = $3, attempts = attempts + 1, next_attempt_at = COALESCE($4, next_attempt_at), \
                lease_until = 0, last_status = $5, last_error = $6, finished_at = $7 \
         WHERE id = $1 AND claim = $2 AND state = 'ready' \
         RETURNING order_key, attempts, paused",
    )
    .bind(attempt.delivery_id)
    .bind(attempt.claim)
    .bind(state)
    .bind(next_attempt_at)
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error_class.as_deref())
    .bind(finished_at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable)?;
    // Another worker claimed it after our lease ran out (or the webhook was deleted): its
    // outcome stands, ours is dropped.
    let Some(updated) = updated else { return Ok(()) };
    let order_key: String = updated.try_get("order_key").map_err(unavailable)?;
    let attempt_no: i64 = updated.try_get("attempts").map_err(unavailable)?;
    let paused: bool = updated.try_get("paused").map_err(unavailable)?;

    sqlx::query(
        "INSERT INTO attempts (delivery_id, webhook_id, attempt, at, status, error_class, latency_ms, excerpt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(attempt.delivery_id)
    .bind(attempt.webhook_id.as_str())
    .bind(attempt_no)
    .bind(attempt.at.as_millis())
    .bind(attempt.status.map(i64::from))
    .bind(attempt.error_class.as_deref())
    .bind(i64::from(attempt.latency_ms))
    .bind(&attempt.excerpt)
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;

    if state != "ready" {
        // Finished (delivered or given up): the session's next delivery moves up. The
        // repeated state term lets SQLite use the partial queue index, which holds only
        // unfinished deliveries (a webhook's whole history can be long).
        sqlx::query(
            "UPDATE deliveries SET state = 'ready', paused = $3 WHERE id = \
             (SELECT id FROM deliveries INDEXED BY deliveries_queue \
              WHERE webhook_id = $1 AND order_key = $2 AND state IN ('ready', 'waiting') AND state = 'waiting' \
              ORDER BY id LIMIT 1)",
        )
        .bind(attempt.webhook_id.as_str())
        .bind(&order_key)
        .bind(paused)
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    }
    if attempt.result == AttemptResult::Delivered {
        webhook_succeeded(conn, &attempt.webhook_id).await
    } else {
        webhook_failed(conn, attempt, policy).await
    }
}

async fn webhook_succeeded(conn: &mut SqliteConnection, webhook: &WebhookId) -> Result<(), StoreError> {
    // A disabled webhook stays disabled until someone tests and saves it.
    let recovered = sqlx::query(
        "UPDATE webhooks SET state = CASE WHEN state = 'disabled' THEN 'disabled' ELSE 'active' END, \
                consecutive_failures = 0, probe_lease_until = 0 \
         WHERE id = $1 AND (consecutive_failures <> 0 OR state = 'unhealthy') RETURNING state",
    )
    .bind(webhook.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(unavailable)?;
    if let Some(row) = recovered {
        let state: String = row.try_get("state").map_err(unavailable)?;
        if state == "active" {
            set_paused(conn, webhook, false).await?;
        }
    }
    Ok(())
}

async fn webhook_failed(
    conn: &mut SqliteConnection,
    attempt: &AttemptRecord,
    policy: &HealthPolicy,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT state, consecutive_failures, company_id FROM webhooks WHERE id = $1 AND deleted = 0")
        .bind(attempt.webhook_id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
    let Some(row) = row else { return Ok(()) };
    let state: String = row.try_get("state").map_err(unavailable)?;
    // Attempts that were already in flight when the endpoint turned unhealthy report the same
    // outage again; only the first failure and each probe count as consecutive failures.
    if state != "active" && !attempt_was_probe(conn, attempt).await? {
        return Ok(());
    }
    let failures = row.try_get::<i64, _>("consecutive_failures").map_err(unavailable)? as u32 + 1;
    let company: String = row.try_get("company_id").map_err(unavailable)?;
    let disabled = failures >= policy.disable_after;
    let new_state = if disabled || state == "disabled" { "disabled" } else { "unhealthy" };
    let probe_after = attempt.at.plus(policy.probe_delay(failures));
    sqlx::query(
        "UPDATE webhooks SET state = $2, consecutive_failures = $3, probe_after = $4, probe_lease_until = 0 WHERE id = $1",
    )
    .bind(attempt.webhook_id.as_str())
    .bind(new_state)
    .bind(i64::from(failures))
    .bind(probe_after.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(unavailable)?;
    if state == "active" {
        set_paused(conn, &attempt.webhook_id, true).await?;
    }
    if policy.emails_owner(failures) {
        let last_error = match (&attempt.status, &attempt.error_class) {
            (Some(status), _) => format!("the endpoint answered HTTP {status}"),
            (None, Some(class)) => format!("the request failed ({class})"),
            (None, None) => "the request failed".to_owned(),
        };
        sqlx::query(
            "INSERT INTO notifications (webhook_id, company_id, consecutive_failures, disabled, last_error, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(attempt.webhook_id.as_str())
        .bind(company)
        .bind(i64::from(failures))
        .bind(new_state == "disabled")
        .bind(last_error)
        .bind(attempt.at.as_millis())
        .execute(&mut *conn)
        .await
        .map_err(unavailable)?;
    }
    Ok(())
}

/// Whether this attempt was the webhook's probe (it held the probe lease).
async fn attempt_was_probe(conn: &mut SqliteConnection, attempt: &AttemptRecord) -> Result<bool, StoreError> {
    let lease: Option<i64> = sqlx::query_scalar("SELECT probe_lease_until FROM webhooks WHERE id = $1")
        .bind(attempt.webhook_id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)?;
    Ok(lease.is_some_and(|until| until > 0))
}

async fn set_paused(conn: &mut SqliteConnection, webhook: &WebhookId, paused: bool) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE deliveries INDEXED BY deliveries_queue SET paused = $2 \
         WHERE webhook_id = $1 AND state IN ('ready', 'waiting') AND paused <> $2",
    )
    .bind(webhook.as_str())
    .bind(paused)
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(unavailable)
}

/// Queues one event to one webhook again, behind the session's unfinished deliveries.
pub(crate) async fn replay(
    conn: &mut SqliteConnection,
    company: &CompanyId,
    webhook: &WebhookId,
    event: &EventId,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, replay, created_at) \
         SELECT e.seq, w.id, w.company_id, {ORDER_KEY_SQL}, \
                CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.id AND p.order_key = {ORDER_KEY_SQL} \
                                  AND p.state IN ('ready', 'waiting')) THEN 'waiting' ELSE 'ready' END, \
                w.state <> 'active', 0, 1, $4 \
         FROM events e JOIN webhooks w ON w.id = $2 AND w.company_id = $1 AND w.deleted = 0 \
         WHERE e.id = $3 AND e.company_id = $1 \
         RETURNING id"
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(company.as_str())
        .bind(webhook.as_str())
        .bind(event.as_str())
        .bind(now.as_millis())
        .fetch_optional(&mut *conn)
        .await
        .map_err(unavailable)
}

/// Queues again every delivery to `webhook` since `since` that failed for good.
pub(crate) async fn recover(
    conn: &mut SqliteConnection,
    company: &CompanyId,
    webhook: &WebhookId,
    since: Timestamp,
    now: Timestamp,
) -> Result<u32, StoreError> {
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT e.id FROM deliveries d JOIN events e ON e.seq = d.event_seq \
         WHERE d.company_id = $1 AND d.webhook_id = $2 AND d.state = 'failed' AND d.created_at >= $3 \
           AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.webhook_id = d.webhook_id AND r.event_seq = d.event_seq \
                           AND r.state IN ('ready', 'waiting', 'delivered')) \
         ORDER BY d.event_seq",
    )
    .bind(company.as_str())
    .bind(webhook.as_str())
    .bind(since.as_millis())
    .fetch_all(&mut *conn)
    .await
    .map_err(unavailable)?;
    let mut queued = 0;
    for event in events {
        let event = EventId::parse(event).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        if replay(conn, company, webhook, &event, now).await?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

pub(crate) const DELIVERY_ROW_SQL: &str = "SELECT d.id, d.webhook_id, e.id AS event_id, e.kind, e.session_id, d.state, d.paused, \
     d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.replay, d.created_at, d.finished_at \
     FROM deliveries d JOIN events e ON e.seq = d.event_seq";

pub(crate) fn decode_delivery(row: &SqliteRow) -> Result<DeliveryRow, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("delivery {what}"));
    let kind: &str = row.try_get("kind").map_err(unavailable)?;
    let state: &str = row.try_get("state").map_err(unavailable)?;
    let session: Option<String> = row.try_get("session_id").map_err(unavailable)?;
    Ok(DeliveryRow {
        id: row.try_get("id").map_err(unavailable)?,
        webhook_id: WebhookId::parse(row.try_get::<String, _>("webhook_id").map_err(unavailable)?)
            .map_err(|_| corrupt("webhook id"))?,
        event_id: EventId::parse(row.try_get::<String, _>("event_id").map_err(unavailable)?)
            .map_err(|_| corrupt("event id"))?,
        event_kind: EventKind::from_name(kind).ok_or_else(|| corrupt("kind"))?,
        session_id: session.map(SessionId::parse).transpose().map_err(|_| corrupt("session id"))?,
        state: DeliveryState::parse(state).ok_or_else(|| corrupt("state"))?,
        paused: row.try_get("paused").map_err(unavailable)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(unavailable)? as u32,
        next_attempt_at: Timestamp::from_millis(row.try_get("next_attempt_at").map_err(unavailable)?),
        last_status: row.try_get::<Option<i64>, _>("last_status").map_err(unavailable)?.map(|s| s as u16),
        last_error: row.try_get("last_error").map_err(unavailable)?,
        replay: row.try_get("replay").map_err(unavailable)?,
        created_at: Timestamp::from_millis(row.try_get("created_at").map_err(unavailable)?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at").map_err(unavailable)?.map(Timestamp::from_millis),
    })
}

pub(crate) fn delivery_filter_sql() -> String {
    format!(
        "{DELIVERY_ROW_SQL} WHERE d.company_id = $1 AND ($2 IS NULL OR d.webhook_id = $2) AND ($3 IS NULL OR e.id = $3) \
         AND ($4 IS NULL OR e.session_id = $4) AND ($5 IS NULL OR d.id < $5) ORDER BY d.id DESC LIMIT $6"
    )
}

pub(crate) fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    company: &'q CompanyId,
    filter: &'q DeliveryFilter,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    query
        .bind(company.as_str())
        .bind(filter.webhook.as_ref().map(|w| w.as_str()))
        .bind(filter.event.as_ref().map(|e| e.as_str()))
        .bind(filter.session.as_ref().map(|s| s.as_str()))
        .bind(filter.before)
        .bind(i64::from(filter.limit.clamp(1, 1000)))
}

pub(crate) fn decode_attempt(row: &SqliteRow) -> Result<AttemptRow, StoreError> {
    Ok(AttemptRow {
        delivery_id: row.try_get("delivery_id").map_err(unavailable)?,
        attempt: row.try_get::<i64, _>("attempt").map_err(unavailable)? as u32,
        at: Timestamp::from_millis(row.try_get("at").map_err(unavailable)?),
        status: row.try_get::<Option<i64>, _>("status").map_err(unavailable)?.map(|s| s as u16),
        error_class: row.try_get("error_class").map_err(unavailable)?,
        latency_ms: row.try_get::<i64, _>("latency_ms").map_err(unavailable)? as u32,
        excerpt: row.try_get("excerpt").map_err(unavailable)?,
    })
}

pub(crate) fn decode_notification(row: &SqliteRow) -> Result<Notification, StoreError> {
    let corrupt = |err: screenhook_domain::IdError| StoreError::Corrupt(format!("notification: {err}"));
    Ok(Notification {
        id: row.try_get("id").map_err(unavailable)?,
        webhook_id: WebhookId::parse(row.try_get::<String, _>("webhook_id").map_err(unavailable)?).map_err(corrupt)?,
        company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(unavailable)?).map_err(corrupt)?,
        consecutive_failures: row.try_get::<i64, _>("consecutive_failures").map_err(unavailable)? as u32,
        disabled: row.try_get("disabled").map_err(unavailable)?,
        last_error: row.try_get("last_error").map_err(unavailable)?,
        created_at: Timestamp::from_millis(row.try_get("created_at").map_err(unavailable)?),
    })
}
