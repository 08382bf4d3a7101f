//! Webhooks and their delivery queue on PostgreSQL.
//!
//! The queue invariants are the SQLite store's:
//! - within one (webhook, order key) at most one delivery is `ready`, the oldest unfinished
//!   one; the rest are `waiting` (per-session order);
//! - `paused` is set on the unfinished deliveries of every webhook that is not active; an
//!   unhealthy webhook gets one probe at a time instead.
//!
//! What keeps them true across processes (queue advisory locks, `FOR SHARE` on webhooks,
//! `SKIP LOCKED` claims) is explained in the crate docs.

use std::collections::HashMap;

use screenhook_domain::{
    CompanyId, EventId, EventKind, Millis, SessionId, Timestamp, Webhook, WebhookHealth, WebhookId, WebhookState,
};
use screenhook_store::{
    AttemptRecord, AttemptResult, AttemptRow, ClaimedDelivery, DeliveryFilter, DeliveryRow, DeliveryState,
    HealthPolicy, Notification, SecretKeys, SeriesBuilder, StoreError, StoredEvent,
};
use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};

use screenhook_store::rows::to_doc;

use crate::{
    EVENT_COLUMNS, QUEUE_LOCK_CLASS, db, decode_event,
    floor::{self, Position},
};

/// The order key of an event `e`: its session, else its test, else its live interview, else the
/// event alone (COALESCE stops at the first that is there, so only interview events are parsed).
const ORDER_KEY_SQL: &str = "COALESCE(e.session_id, 'test:' || e.test_id, \
     'interview:' || (e.payload::json ->> 'interviewId'), 'event:' || e.id)";

/// A delivery just claimed; its event is read afterwards, for all claims at once.
pub(crate) struct Claimed {
    delivery_id: i64,
    claim: i64,
    attempts: u32,
    webhook_id: WebhookId,
    pub(crate) event_seq: i64,
    probe: bool,
}

/// Takes the queue locks of the given `hashtext(webhook || '|' || order key)` values, in
/// sorted order, in one statement; held to the end of the transaction.
async fn lock_queues(conn: &mut PgConnection, mut keys: Vec<i32>) -> Result<(), StoreError> {
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) AS k")
        .bind(QUEUE_LOCK_CLASS)
        .bind(keys)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(db)
}

/// What a fan-out queued.
#[derive(Default)]
pub(crate) struct FannedOut {
    /// Some delivery was queued that no worker holds: the claimers should look.
    pub claimable: bool,
    /// The ready deliveries written leased to this process (claim 1): (id, event seq, webhook).
    pub leased: Vec<(i64, i64, WebhookId)>,
}

/// Fans committed-to-be events out to every live webhook of their company subscribed to
/// their kind. Fresh deliveries are due at once (`next_attempt_at` 0), whatever clock the
/// company runs on; with `lease_until`, those ready to go (first in their queue, webhook
/// active) are written leased to this process, for its worker to be handed in memory.
pub(crate) async fn fan_out(
    conn: &mut PgConnection,
    seqs: &[i64],
    lease_until: Option<Timestamp>,
) -> Result<FannedOut, StoreError> {
    // The queues the events go to, locked in one statement (in key order, as `lock_queues`
    // takes them) as they are found.
    let mut webhooks: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT webhook_id FROM ( \
             SELECT DISTINCT w.id AS webhook_id, hashtext(w.id || '|' || {ORDER_KEY_SQL}) AS lock_key \
             FROM events e \
             JOIN webhook_subscriptions s ON s.company_id = e.company_id AND s.event = e.kind \
             JOIN webhooks w ON w.id = s.webhook_id AND NOT w.deleted \
             WHERE e.seq = ANY($1) ORDER BY lock_key) AS queue, \
         LATERAL (SELECT pg_advisory_xact_lock($2, queue.lock_key)) AS locked"
    )))
    .bind(seqs)
    .bind(QUEUE_LOCK_CLASS)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if webhooks.is_empty() {
        return Ok(FannedOut::default());
    }
    webhooks.sort_unstable();
    webhooks.dedup();
    // A later statement than the locks, so its snapshot holds what their last holders
    // committed. Only the webhooks whose queues are locked are fanned out to: one subscribed
    // in between simply subscribed after these events.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, \
                                 created_at, lease_until, claim) \
         SELECT seq, webhook_id, company_id, order_key, state, paused, 0, triggered_on, \
                CASE WHEN state = 'ready' AND NOT paused THEN $3 ELSE 0 END, \
                CASE WHEN state = 'ready' AND NOT paused AND $3 > 0 THEN 1 ELSE 0 END \
         FROM (SELECT x.*, \
                      CASE WHEN rn = 1 AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = x.webhook_id \
                           AND p.order_key = x.order_key AND p.state IN ('ready', 'waiting')) \
                      THEN 'ready' ELSE 'waiting' END AS state \
               FROM (SELECT e.seq, w.id AS webhook_id, w.company_id, {ORDER_KEY_SQL} AS order_key, \
                            w.state <> 'active' AS paused, e.triggered_on, \
                            ROW_NUMBER() OVER (PARTITION BY w.id, {ORDER_KEY_SQL} ORDER BY e.seq) AS rn \
                     FROM events e \
                     JOIN webhook_subscriptions s ON s.company_id = e.company_id AND s.event = e.kind \
                     JOIN (SELECT id, company_id, state FROM webhooks WHERE id = ANY($2) AND NOT deleted FOR SHARE) w \
                       ON w.id = s.webhook_id \
                     WHERE e.seq = ANY($1)) AS x) AS queued \
         ORDER BY seq \
         RETURNING id, event_seq, webhook_id, claim"
    )))
    .bind(seqs)
    .bind(webhooks)
    .bind(lease_until.map_or(0, Timestamp::as_millis))
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut fanned = FannedOut::default();
    for row in &rows {
        if row.try_get::<i64, _>("claim").map_err(db)? == 0 {
            // Not handed over (no worker listens, it waits behind its session's previous
            // delivery, or its webhook is paused): as before handoffs, wake whoever claims.
            fanned.claimable = true;
            continue;
        }
        let webhook: String = row.try_get("webhook_id").map_err(db)?;
        let webhook = WebhookId::parse(webhook).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        fanned.leased.push((row.try_get("id").map_err(db)?, row.try_get("event_seq").map_err(db)?, webhook));
    }
    Ok(fanned)
}

pub(crate) fn decode_webhook(row: &PgRow) -> Result<(Webhook, WebhookHealth), StoreError> {
    let doc: &str = row.try_get("doc").map_err(db)?;
    let webhook: Webhook = serde_json::from_str(doc).map_err(|err| StoreError::Corrupt(format!("webhook: {err}")))?;
    let state: &str = row.try_get("state").map_err(db)?;
    let health = WebhookHealth {
        state: WebhookState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("webhook state {state:?}")))?,
        consecutive_failures: row.try_get::<i64, _>("consecutive_failures").map_err(db)? as u32,
        probe_after: Timestamp::from_millis(row.try_get("probe_after").map_err(db)?),
    };
    Ok((webhook, health))
}

pub(crate) const WEBHOOK_COLUMNS: &str = "doc, state, consecutive_failures, probe_after";

async fn write_subscriptions(conn: &mut PgConnection, webhook: &Webhook) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM webhook_subscriptions WHERE webhook_id = $1")
        .bind(webhook.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let kinds: Vec<&str> = webhook.events.iter().map(|k| k.name()).collect();
    sqlx::query(
        "INSERT INTO webhook_subscriptions (company_id, event, webhook_id) \
         SELECT $1, k, $3 FROM unnest($2::text[]) AS k ON CONFLICT DO NOTHING",
    )
    .bind(webhook.company_id.as_str())
    .bind(kinds)
    .bind(webhook.id.as_str())
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(db)
}

/// See [`screenhook_store::Store::reseal_secrets`]. Only stale rows are locked (the scan at
/// every start locks nothing, so fan-outs never wait for it), and each is checked again under
/// its lock, so processes that start together reseal each webhook once.
pub(crate) async fn reseal_secrets(conn: &mut PgConnection, keys: &SecretKeys) -> Result<u64, StoreError> {
    let decode = |id: &str, doc: &str| -> Result<Webhook, StoreError> {
        serde_json::from_str(doc).map_err(|err| StoreError::Corrupt(format!("webhook {id}: {err}")))
    };
    let mut stale = Vec::new();
    for row in sqlx::query("SELECT id, doc FROM webhooks").fetch_all(&mut *conn).await.map_err(db)? {
        let (id, doc): (String, String) = (row.try_get("id").map_err(db)?, row.try_get("doc").map_err(db)?);
        if keys.needs_reseal(&decode(&id, &doc)?) {
            stale.push(id);
        }
    }
    stale.sort_unstable();
    let mut resealed = 0;
    for id in stale {
        let doc: String = sqlx::query_scalar("SELECT doc FROM webhooks WHERE id = $1 FOR UPDATE")
            .bind(&id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        let stored = decode(&id, &doc)?;
        if !keys.needs_reseal(&stored) {
            continue;
        }
        let sealed = keys.seal_webhook(&keys.open_webhook(stored)?)?;
        sqlx::query("UPDATE webhooks SET doc = $2 WHERE id = $1")
            .bind(&id)
            .bind(to_doc(&sealed)?)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        resealed += 1;
    }
    Ok(resealed)
}

pub(crate) async fn insert_webhook(conn: &mut PgConnection, webhook: &Webhook) -> Result<(), StoreError> {
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
        other => other.map_err(db)?,
    };
    write_subscriptions(conn, webhook).await
}

pub(crate) async fn update_webhook(conn: &mut PgConnection, webhook: &Webhook) -> Result<(), StoreError> {
    // The row lock also waits for fan-outs reading this webhook, so none straddles the change
    // of subscriptions.
    let res = sqlx::query("UPDATE webhooks SET doc = $3 WHERE id = $1 AND company_id = $2 AND NOT deleted")
        .bind(webhook.id.as_str())
        .bind(webhook.company_id.as_str())
        .bind(to_doc(webhook)?)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
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
    conn: &mut PgConnection,
    company: &CompanyId,
    id: &WebhookId,
) -> Result<bool, StoreError> {
    // Fan-outs read the webhook FOR SHARE: once this update holds the row, every fan-out
    // either committed (and its deliveries are cancelled below) or will see it deleted.
    let res = sqlx::query("UPDATE webhooks SET deleted = TRUE WHERE id = $1 AND company_id = $2 AND NOT deleted")
        .bind(id.as_str())
        .bind(company.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    if res.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM webhook_subscriptions WHERE webhook_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query(
        "UPDATE deliveries SET state = 'cancelled', lease_until = 0 \
         WHERE webhook_id = $1 AND state IN ('ready', 'waiting')",
    )
    .bind(id.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(true)
}

pub(crate) async fn restore_webhook(
    conn: &mut PgConnection,
    company: &CompanyId,
    id: &WebhookId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let res = sqlx::query(
        "UPDATE webhooks SET state = 'active', consecutive_failures = 0, probe_after = 0, probe_lease_until = 0 \
         WHERE id = $1 AND company_id = $2 AND NOT deleted",
    )
    .bind(id.as_str())
    .bind(company.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if res.rows_affected() == 0 {
        return Ok(false);
    }
    // Flush: everything queued is due now.
    sqlx::query(
        "UPDATE deliveries SET paused = FALSE, next_attempt_at = LEAST(next_attempt_at, $2) \
         WHERE webhook_id = $1 AND state IN ('ready', 'waiting')",
    )
    .bind(id.as_str())
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(true)
}

/// Claims due deliveries of active webhooks in one statement: rows another process is
/// claiming or recording are skipped, never waited for. The lease is the only change, to no
/// indexed column, so each row is rewritten on its page (see migrations 0004 and 0005). With `after`,
/// only rows past that position in the due index are looked at (see [`crate::floor`]); the
/// answer also says the position of the last row taken.
pub(crate) async fn claim_ready(
    pool: &PgPool,
    now: Timestamp,
    lease: Millis,
    limit: u32,
    saturated: &[WebhookId],
    after: Option<Position>,
) -> Result<(Vec<Claimed>, Option<Position>), StoreError> {
    let saturated: Vec<&str> = saturated.iter().map(|w| w.as_str()).collect();
    // Every row is past (-1, 0): one statement shape whether or not there is a floor.
    let (after_at, after_id) = after.unwrap_or((-1, 0));
    let rows = sqlx::query(
        // MATERIALIZED: the locking subquery runs once, so the LIMIT holds whatever plan the
        // UPDATE gets.
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM deliveries \
             WHERE state = 'ready' AND NOT paused AND next_attempt_at <= $1 AND lease_until <= $1 \
               AND (next_attempt_at, id) > ($5, $6) AND webhook_id <> ALL($4) \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         UPDATE deliveries d SET lease_until = $2, claim = d.claim + 1 FROM due WHERE d.id = due.id \
         RETURNING d.id, d.claim, d.attempts, d.webhook_id, d.event_seq, d.next_attempt_at",
    )
    .bind(now.as_millis())
    .bind(now.plus(lease).as_millis())
    .bind(i64::from(limit))
    .bind(saturated)
    .bind(after_at)
    .bind(after_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut last = None;
    for row in &rows {
        let at: Position = (row.try_get("next_attempt_at").map_err(db)?, row.try_get("id").map_err(db)?);
        last = last.max(Some(at));
    }
    let mut claimed: Vec<Claimed> = rows.iter().map(|row| claimed_row(row, false)).collect::<Result<_, _>>()?;
    // RETURNING does not follow the subquery's order.
    claimed.sort_by_key(|c| c.delivery_id);
    Ok((claimed, last))
}

/// Claims one probe for each unhealthy webhook whose probe is due, in the caller's
/// transaction. The webhook row is locked (skipping those another process holds), so at most
/// one probe per webhook is in flight across processes.
pub(crate) async fn claim_probes(
    conn: &mut PgConnection,
    now: Timestamp,
    lease: Millis,
) -> Result<Vec<Claimed>, StoreError> {
    let until = now.plus(lease).as_millis();
    let probes: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM webhooks WHERE state = 'unhealthy' AND NOT deleted AND probe_after <= $1 \
           AND probe_lease_until <= $1 \
         ORDER BY probe_after LIMIT 64 FOR UPDATE SKIP LOCKED",
    )
    .bind(now.as_millis())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut claimed = Vec::new();
    for webhook in probes {
        // Prefer a delivery that never failed: a fresh one tells most about the endpoint.
        let row = sqlx::query(
            "UPDATE deliveries SET lease_until = $2, claim = claim + 1 \
             WHERE id = (SELECT id FROM deliveries WHERE webhook_id = $3 AND state = 'ready' AND lease_until <= $1 \
                         ORDER BY attempts, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, claim, attempts, webhook_id, event_seq",
        )
        .bind(now.as_millis())
        .bind(until)
        .bind(&webhook)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(row) = row {
            sqlx::query("UPDATE webhooks SET probe_lease_until = $2 WHERE id = $1")
                .bind(&webhook)
                .bind(until)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            claimed.push(claimed_row(&row, true)?);
        }
    }
    Ok(claimed)
}

fn claimed_row(row: &PgRow, probe: bool) -> Result<Claimed, StoreError> {
    let webhook: String = row.try_get("webhook_id").map_err(db)?;
    Ok(Claimed {
        delivery_id: row.try_get("id").map_err(db)?,
        claim: row.try_get("claim").map_err(db)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(db)? as u32,
        webhook_id: WebhookId::parse(webhook).map_err(|err| StoreError::Corrupt(err.to_string()))?,
        event_seq: row.try_get("event_seq").map_err(db)?,
        probe,
    })
}

/// Joins claimed rows with their events (read in one query).
pub(crate) fn assemble(claimed: Vec<Claimed>, events: &[StoredEvent]) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let by_seq: HashMap<i64, &StoredEvent> = events.iter().map(|e| (e.seq, e)).collect();
    claimed
        .into_iter()
        .map(|c| {
            let event = by_seq.get(&c.event_seq).ok_or_else(|| {
                StoreError::Corrupt(format!("delivery {}: event {} is missing", c.delivery_id, c.event_seq))
            })?;
            Ok(ClaimedDelivery {
                delivery_id: c.delivery_id,
                claim: c.claim,
                attempts: c.attempts,
                webhook_id: c.webhook_id,
                event: (*event).clone(),
                probe: c.probe,
            })
        })
        .collect()
}

pub(crate) async fn events_by_seq(pool: &PgPool, seqs: &[i64]) -> Result<Vec<StoredEvent>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = ANY($1)"));
    let rows = sqlx::query(sql).bind(seqs).fetch_all(pool).await.map_err(db)?;
    rows.iter().map(decode_event).collect()
}

/// Records attempts and their consequences in the caller's transaction, under the locks of
/// their queues. A batch of successes (the common case) takes a few statements in all; a
/// batch with any failure is recorded attempt by attempt, because each failure moves its
/// webhook's health.
pub(crate) async fn record(
    conn: &mut PgConnection,
    attempts: &[AttemptRecord],
    policy: &HealthPolicy,
) -> Result<Vec<Position>, StoreError> {
    let ids: Vec<i64> = attempts.iter().map(|a| a.delivery_id).collect();
    // Their queues' locks, found and taken in one statement, in key order as `lock_queues`
    // takes them.
    sqlx::query(
        "SELECT pg_advisory_xact_lock($2, queue.lock_key) FROM ( \
             SELECT DISTINCT hashtext(webhook_id || '|' || order_key) AS lock_key FROM deliveries \
             WHERE id = ANY($1) ORDER BY lock_key) AS queue",
    )
    .bind(&ids)
    .bind(QUEUE_LOCK_CLASS)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if attempts.iter().all(|a| a.result == AttemptResult::Delivered) {
        return record_delivered(conn, attempts).await;
    }
    // Webhook rows are locked in one order by every recorder, so two never deadlock on them;
    // each webhook's own attempts keep their order.
    let mut ordered: Vec<&AttemptRecord> = attempts.iter().collect();
    ordered.sort_by(|a, b| a.webhook_id.as_str().cmp(b.webhook_id.as_str()));
    let mut promoted = Vec::new();
    for attempt in ordered {
        promoted.extend(record_one(conn, attempt, policy).await?);
    }
    Ok(promoted)
}

/// The all-delivered fast path: the same effects as [`record_one`] for each attempt.
async fn record_delivered(conn: &mut PgConnection, attempts: &[AttemptRecord]) -> Result<Vec<Position>, StoreError> {
    let ids: Vec<i64> = attempts.iter().map(|a| a.delivery_id).collect();
    let claims: Vec<i64> = attempts.iter().map(|a| a.claim).collect();
    let statuses: Vec<Option<i64>> = attempts.iter().map(|a| a.status.map(i64::from)).collect();
    let ats: Vec<i64> = attempts.iter().map(|a| a.at.as_millis()).collect();
    // Only deliveries still held under this claim count (fencing), as in `record_one`. A held
    // delivery is ready with `lease_until > 0` (records, releases and cancels all clear it);
    // that test, unlike `state = 'ready'`, matches no partial index, so the planner looks the
    // rows up by key instead of walking `deliveries_queue`, whose dead entries pile up
    // between vacuums.
    let updated = sqlx::query(
        "UPDATE deliveries d SET state = 'delivered', attempts = d.attempts + 1, lease_until = 0, \
                last_status = v.status, last_error = NULL, finished_at = v.at \
         FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[]) AS v(id, claim, status, at) \
         WHERE d.id = v.id AND d.claim = v.claim AND d.lease_until > 0 \
         RETURNING d.id, d.attempts, d.order_key",
    )
    .bind(ids)
    .bind(claims)
    .bind(statuses)
    .bind(ats)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    if updated.is_empty() {
        return Ok(Vec::new());
    }
    let mut recorded: HashMap<i64, (i64, String)> = HashMap::with_capacity(updated.len());
    for row in &updated {
        recorded.insert(
            row.try_get("id").map_err(db)?,
            (row.try_get("attempts").map_err(db)?, row.try_get("order_key").map_err(db)?),
        );
    }
    let mut log = AttemptLog::default();
    let (mut queue_webhooks, mut queue_keys) = (Vec::new(), Vec::new());
    let mut webhooks: Vec<&str> = Vec::new();
    for attempt in attempts {
        let Some((attempt_no, order_key)) = recorded.get(&attempt.delivery_id) else { continue };
        log.push(attempt, *attempt_no);
        queue_webhooks.push(attempt.webhook_id.as_str());
        queue_keys.push(order_key.as_str());
        if !webhooks.contains(&attempt.webhook_id.as_str()) {
            webhooks.push(attempt.webhook_id.as_str());
        }
    }
    log.insert(conn).await?;
    // Each finished delivery's session moves up: its next waiting delivery becomes ready.
    let promoted = sqlx::query_as(
        "UPDATE deliveries d SET state = 'ready', paused = (w.state <> 'active') \
         FROM webhooks w \
         WHERE w.id = d.webhook_id AND d.id = ANY(ARRAY( \
             SELECT (SELECT q.id FROM deliveries q \
                     WHERE q.webhook_id = k.webhook_id AND q.order_key = k.order_key AND q.state = 'waiting' \
                     ORDER BY q.id LIMIT 1) \
             FROM unnest($1::text[], $2::text[]) AS k(webhook_id, order_key))) \
         RETURNING d.next_attempt_at, d.id",
    )
    .bind(queue_webhooks)
    .bind(queue_keys)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    webhooks.sort_unstable();
    let mut promoted: Vec<Position> = promoted;
    for webhook in webhooks {
        if webhook_succeeded(conn, webhook).await? {
            promoted.push(floor::HEAD);
        }
    }
    Ok(promoted)
}

/// Rows for the attempt log, inserted in one statement.
#[derive(Default)]
struct AttemptLog {
    delivery: Vec<i64>,
    webhook: Vec<String>,
    attempt: Vec<i64>,
    at: Vec<i64>,
    status: Vec<Option<i64>>,
    error_class: Vec<Option<String>>,
    latency: Vec<i64>,
    excerpt: Vec<String>,
}

impl AttemptLog {
    fn push(&mut self, attempt: &AttemptRecord, attempt_no: i64) {
        self.delivery.push(attempt.delivery_id);
        self.webhook.push(attempt.webhook_id.to_string());
        self.attempt.push(attempt_no);
        self.at.push(attempt.at.as_millis());
        self.status.push(attempt.status.map(i64::from));
        self.error_class.push(attempt.error_class.clone());
        self.latency.push(i64::from(attempt.latency_ms));
        self.excerpt.push(attempt.excerpt.clone());
    }

    async fn insert(self, conn: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attempts (delivery_id, webhook_id, attempt, at, status, error_class, latency_ms, excerpt) \
             SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[], \
                                  $7::int8[], $8::text[])",
        )
        .bind(self.delivery)
        .bind(self.webhook)
        .bind(self.attempt)
        .bind(self.at)
        .bind(self.status)
        .bind(self.error_class)
        .bind(self.latency)
        .bind(self.excerpt)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(db)
    }
}

/// Records one attempt; the positions of the rows it made due (see [`crate::floor`]).
async fn record_one(
    conn: &mut PgConnection,
    attempt: &AttemptRecord,
    policy: &HealthPolicy,
) -> Result<Vec<Position>, StoreError> {
    let (state, next_attempt_at, finished_at) = match attempt.result {
        AttemptResult::Delivered => ("delivered", None, Some(attempt.at.as_millis())),
        AttemptResult::RetryAt(at) => ("ready", Some(at.as_millis()), None),
        AttemptResult::GiveUp => ("failed", None, Some(attempt.at.as_millis())),
    };
    let updated = sqlx::query(
        "UPDATE deliveries SET state = $3, attempts = attempts + 1, next_attempt_at = COALESCE($4, next_attempt_at), \
                lease_until = 0, last_status = $5, last_error = $6, finished_at = $7 \
         WHERE id = $1 AND claim = $2 AND lease_until > 0 \
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
    .map_err(db)?;
    // Another worker claimed it after our lease ran out (or the webhook was deleted): its
    // outcome stands, ours is dropped.
    let Some(updated) = updated else { return Ok(Vec::new()) };
    let order_key: String = updated.try_get("order_key").map_err(db)?;
    let attempt_no: i64 = updated.try_get("attempts").map_err(db)?;
    let paused: bool = updated.try_get("paused").map_err(db)?;

    let mut log = AttemptLog::default();
    log.push(attempt, attempt_no);
    log.insert(conn).await?;

    let mut readied = Vec::new();
    if state != "ready" {
        // Finished (delivered or given up): the session's next delivery moves up.
        let promoted: Option<Position> = sqlx::query_as(
            "UPDATE deliveries SET state = 'ready', paused = $3 WHERE id = \
             (SELECT id FROM deliveries WHERE webhook_id = $1 AND order_key = $2 AND state = 'waiting' \
              ORDER BY id LIMIT 1) \
             RETURNING next_attempt_at, id",
        )
        .bind(attempt.webhook_id.as_str())
        .bind(&order_key)
        .bind(paused)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        readied.extend(promoted);
    }
    if attempt.result == AttemptResult::Delivered {
        if webhook_succeeded(conn, attempt.webhook_id.as_str()).await? {
            readied.push(floor::HEAD);
        }
    } else {
        webhook_failed(conn, attempt, policy).await?;
    }
    Ok(readied)
}

/// The webhook's health after a success; whether its queue was paused and is due again.
async fn webhook_succeeded(conn: &mut PgConnection, webhook: &str) -> Result<bool, StoreError> {
    // A disabled webhook stays disabled until someone tests and saves it.
    let recovered = sqlx::query(
        "UPDATE webhooks SET state = CASE WHEN state = 'disabled' THEN 'disabled' ELSE 'active' END, \
                consecutive_failures = 0, probe_lease_until = 0 \
         WHERE id = $1 AND (consecutive_failures <> 0 OR state = 'unhealthy') RETURNING state",
    )
    .bind(webhook)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(row) = recovered {
        let state: String = row.try_get("state").map_err(db)?;
        if state == "active" {
            set_paused(conn, webhook, false).await?;
            return Ok(true);
        }
    }
    Ok(false)
}

async fn webhook_failed(
    conn: &mut PgConnection,
    attempt: &AttemptRecord,
    policy: &HealthPolicy,
) -> Result<(), StoreError> {
    // FOR UPDATE: two processes recording failures of one webhook count both.
    let row = sqlx::query(
        "SELECT state, consecutive_failures, company_id, probe_lease_until FROM webhooks \
         WHERE id = $1 AND NOT deleted FOR UPDATE",
    )
    .bind(attempt.webhook_id.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(row) = row else { return Ok(()) };
    let state: String = row.try_get("state").map_err(db)?;
    let state = WebhookState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("webhooks.state {state:?}")))?;
    let was_probe = row.try_get::<i64, _>("probe_lease_until").map_err(db)? > 0;
    let failures = row.try_get::<i64, _>("consecutive_failures").map_err(db)? as u32;
    let Some(outcome) = policy.after_failure(state, failures, was_probe, attempt) else {
        return Ok(());
    };
    let company: String = row.try_get("company_id").map_err(db)?;
    let health = &outcome.health;
    sqlx::query(
        "UPDATE webhooks SET state = $2, consecutive_failures = $3, probe_after = $4, probe_lease_until = 0 WHERE id = $1",
    )
    .bind(attempt.webhook_id.as_str())
    .bind(health.state.as_str())
    .bind(i64::from(health.consecutive_failures))
    .bind(health.probe_after.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if outcome.pause_queue {
        set_paused(conn, attempt.webhook_id.as_str(), true).await?;
    }
    if let Some(email) = outcome.owner_email {
        sqlx::query(
            "INSERT INTO notifications (webhook_id, company_id, consecutive_failures, disabled, last_error, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(attempt.webhook_id.as_str())
        .bind(company)
        .bind(i64::from(health.consecutive_failures))
        .bind(email.disabled)
        .bind(email.last_error)
        .bind(attempt.at.as_millis())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn set_paused(conn: &mut PgConnection, webhook: &str, paused: bool) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE deliveries SET paused = $2 \
         WHERE webhook_id = $1 AND state IN ('ready', 'waiting') AND paused <> $2",
    )
    .bind(webhook)
    .bind(paused)
    .execute(&mut *conn)
    .await
    .map(drop)
    .map_err(db)
}

/// Queues one event to one webhook again, behind the session's unfinished deliveries.
pub(crate) async fn replay(
    conn: &mut PgConnection,
    company: &CompanyId,
    webhook: &WebhookId,
    event: &EventId,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    let target = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_KEY_SQL} AS order_key, hashtext(w.id || '|' || {ORDER_KEY_SQL}) AS lock_key \
         FROM events e JOIN webhooks w ON w.id = $2 AND w.company_id = $1 AND NOT w.deleted \
         WHERE e.id = $3 AND e.company_id = $1"
    )))
    .bind(company.as_str())
    .bind(webhook.as_str())
    .bind(event.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    let Some(target) = target else { return Ok(None) };
    let order_key: String = target.try_get("order_key").map_err(db)?;
    lock_queues(conn, vec![target.try_get("lock_key").map_err(db)?]).await?;
    sqlx::query_scalar(
        "INSERT INTO deliveries (event_seq, webhook_id, company_id, order_key, state, paused, next_attempt_at, replay, created_at) \
         SELECT e.seq, w.id, w.company_id, $4, \
                CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = w.id AND p.order_key = $4 \
                                  AND p.state IN ('ready', 'waiting')) THEN 'waiting' ELSE 'ready' END, \
                w.state <> 'active', 0, TRUE, $5 \
         FROM events e \
         JOIN (SELECT id, company_id, state FROM webhooks WHERE id = $2 AND company_id = $1 AND NOT deleted FOR SHARE) w \
           ON TRUE \
         WHERE e.id = $3 AND e.company_id = $1 \
         RETURNING id",
    )
    .bind(company.as_str())
    .bind(webhook.as_str())
    .bind(event.as_str())
    .bind(order_key)
    .bind(now.as_millis())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)
}

/// Queues again every delivery to `webhook` since `since` that failed for good.
pub(crate) async fn recover(
    conn: &mut PgConnection,
    company: &CompanyId,
    webhook: &WebhookId,
    since: Timestamp,
    now: Timestamp,
) -> Result<u32, StoreError> {
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT e.id FROM deliveries d JOIN events e ON e.seq = d.event_seq \
         WHERE d.company_id = $1 AND d.webhook_id = $2 AND d.state = 'failed' AND d.created_at >= $3 \
           AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.webhook_id = d.webhook_id AND r.event_seq = d.event_seq \
                           AND r.state IN ('ready', 'waiting', 'delivered')) \
         GROUP BY e.id, d.event_seq ORDER BY d.event_seq",
    )
    .bind(company.as_str())
    .bind(webhook.as_str())
    .bind(since.as_millis())
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
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

pub(crate) fn decode_delivery(row: &PgRow) -> Result<DeliveryRow, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("delivery {what}"));
    let kind: &str = row.try_get("kind").map_err(db)?;
    let state: &str = row.try_get("state").map_err(db)?;
    let session: Option<String> = row.try_get("session_id").map_err(db)?;
    Ok(DeliveryRow {
        id: row.try_get("id").map_err(db)?,
        webhook_id: WebhookId::parse(row.try_get::<String, _>("webhook_id").map_err(db)?)
            .map_err(|_| corrupt("webhook id"))?,
        event_id: EventId::parse(row.try_get::<String, _>("event_id").map_err(db)?).map_err(|_| corrupt("event id"))?,
        event_kind: EventKind::from_name(kind).ok_or_else(|| corrupt("kind"))?,
        session_id: session.map(SessionId::parse).transpose().map_err(|_| corrupt("session id"))?,
        state: DeliveryState::parse(state).ok_or_else(|| corrupt("state"))?,
        paused: row.try_get("paused").map_err(db)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(db)? as u32,
        next_attempt_at: Timestamp::from_millis(row.try_get("next_attempt_at").map_err(db)?),
        last_status: row.try_get::<Option<i64>, _>("last_status").map_err(db)?.map(|s| s as u16),
        last_error: row.try_get("last_error").map_err(db)?,
        replay: row.try_get("replay").map_err(db)?,
        created_at: Timestamp::from_millis(row.try_get("created_at").map_err(db)?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at").map_err(db)?.map(Timestamp::from_millis),
    })
}

pub(crate) fn delivery_filter_sql() -> String {
    format!(
        "{DELIVERY_ROW_SQL} WHERE d.company_id = $1 AND ($2::text IS NULL OR d.webhook_id = $2) \
         AND ($3::text IS NULL OR e.id = $3) AND ($4::text IS NULL OR e.session_id = $4) \
         AND ($5::int8 IS NULL OR d.id < $5) ORDER BY d.id DESC LIMIT $6"
    )
}

pub(crate) fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    company: &'q CompanyId,
    filter: &'q DeliveryFilter,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(company.as_str())
        .bind(filter.webhook.as_ref().map(|w| w.as_str()))
        .bind(filter.event.as_ref().map(|e| e.as_str()))
        .bind(filter.session.as_ref().map(|s| s.as_str()))
        .bind(filter.before)
        .bind(i64::from(filter.limit.clamp(1, 1000)))
}

/// The delivery log's chart in one statement (one snapshot): a webhook's deliveries created
/// in the window, counted by bucket and state, and its attempts made in the window, counted
/// by bucket and latency (turned into percentiles by [`SeriesBuilder`], as on SQLite). The
/// attempts are the company's when the webhook is: webhook ids are never reused.
///
/// Parameters: company, webhook, since, until, bucket length (ms).
pub(crate) const DELIVERY_SERIES_SQL: &str = "\
    SELECT 'deliveries' AS kind, (created_at - $3) / $5 AS bucket, state, NULL::int8 AS latency_ms, COUNT(*) AS n \
    FROM deliveries \
    WHERE webhook_id = $2 AND company_id = $1 AND created_at >= $3 AND created_at < $4 \
    GROUP BY 2, 3 \
    UNION ALL \
    SELECT 'attempts', (at - $3) / $5, NULL, latency_ms, COUNT(*) \
    FROM attempts \
    WHERE webhook_id = $2 AND at >= $3 AND at < $4 \
      AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = $2 AND w.company_id = $1) \
    GROUP BY 2, 4";

/// Adds a row of [`DELIVERY_SERIES_SQL`] to `series`.
pub(crate) fn add_series_count(series: &mut SeriesBuilder, row: &PgRow) -> Result<(), StoreError> {
    let kind: &str = row.try_get("kind").map_err(db)?;
    let bucket: i64 = row.try_get("bucket").map_err(db)?;
    let count = row.try_get::<i64, _>("n").map_err(db)?.max(0) as u64;
    if kind == "deliveries" {
        let state: &str = row.try_get("state").map_err(db)?;
        let state =
            DeliveryState::parse(state).ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?;
        series.deliveries(bucket, state, count);
    } else {
        let latency_ms = row.try_get::<i64, _>("latency_ms").map_err(db)?.clamp(0, i64::from(u32::MAX)) as u32;
        series.latencies(bucket, latency_ms, count);
    }
    Ok(())
}

pub(crate) fn decode_attempt(row: &PgRow) -> Result<AttemptRow, StoreError> {
    Ok(AttemptRow {
        delivery_id: row.try_get("delivery_id").map_err(db)?,
        attempt: row.try_get::<i64, _>("attempt").map_err(db)? as u32,
        at: Timestamp::from_millis(row.try_get("at").map_err(db)?),
        status: row.try_get::<Option<i64>, _>("status").map_err(db)?.map(|s| s as u16),
        error_class: row.try_get("error_class").map_err(db)?,
        latency_ms: row.try_get::<i64, _>("latency_ms").map_err(db)? as u32,
        excerpt: row.try_get("excerpt").map_err(db)?,
    })
}

pub(crate) fn decode_notification(row: &PgRow) -> Result<Notification, StoreError> {
    let corrupt = |err: screenhook_domain::IdError| StoreError::Corrupt(format!("notification: {err}"));
    Ok(Notification {
        id: row.try_get("id").map_err(db)?,
        webhook_id: WebhookId::parse(row.try_get::<String, _>("webhook_id").map_err(db)?).map_err(corrupt)?,
        company_id: CompanyId::parse(row.try_get::<String, _>("company_id").map_err(db)?).map_err(corrupt)?,
        consecutive_failures: row.try_get::<i64, _>("consecutive_failures").map_err(db)? as u32,
        disabled: row.try_get("disabled").map_err(db)?,
        last_error: row.try_get("last_error").map_err(db)?,
        created_at: Timestamp::from_millis(row.try_get("created_at").map_err(db)?),
    })
}
