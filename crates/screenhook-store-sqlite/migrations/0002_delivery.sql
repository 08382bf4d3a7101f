-- Webhook delivery: subscriptions, the per-webhook delivery queue, the attempt log, and the
-- owner-email outbox. Deliveries are fanned out in the same transaction as their event.

CREATE TABLE webhooks (
    id                   TEXT PRIMARY KEY,
    company_id           TEXT NOT NULL,
    state                TEXT NOT NULL,              -- active | unhealthy | disabled
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    probe_after          INTEGER NOT NULL DEFAULT 0, -- unhealthy: when the next probe may go
    probe_lease_until    INTEGER NOT NULL DEFAULT 0, -- a probe is in flight until then
    deleted              INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    doc                  TEXT NOT NULL               -- url, events, secret, owners, headers
);
CREATE INDEX webhooks_by_company ON webhooks (company_id, created_at);
CREATE INDEX webhooks_to_probe ON webhooks (probe_after) WHERE state = 'unhealthy' AND deleted = 0;

-- Which live webhook wants which event: the fan-out reads only this.
CREATE TABLE webhook_subscriptions (
    company_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    webhook_id  TEXT NOT NULL,
    PRIMARY KEY (company_id, event, webhook_id)
);

-- One row per (event, webhook). Within one (webhook, order_key) only the oldest unfinished
-- row is `ready`; the others are `waiting`, so a session's events arrive in firing order.
-- `paused` mirrors "the webhook is not active": paused rows wait for a probe or a repair.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq       INTEGER NOT NULL,
    webhook_id      TEXT NOT NULL,
    company_id      TEXT NOT NULL,
    order_key       TEXT NOT NULL,
    state           TEXT NOT NULL,            -- ready | waiting | delivered | failed | cancelled
    paused          INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    -- When it may be claimed: due and not leased. Indexed, so leased rows (however many are
    -- in flight) never slow a claim down.
    due_at          INTEGER GENERATED ALWAYS AS (MAX(next_attempt_at, lease_until)) VIRTUAL,
    claim           INTEGER NOT NULL DEFAULT 0, -- fencing token: bumped by every claim
    last_status     INTEGER,
    last_error      TEXT,
    replay          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state = 'ready' AND paused = 0;
CREATE INDEX deliveries_queue ON deliveries (webhook_id, order_key, id) WHERE state IN ('ready', 'waiting');
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_seq);

-- Keyed by (delivery, attempt number) without a rowid: one b-tree to append to per attempt
-- instead of a table and an index.
CREATE TABLE attempts (
    delivery_id  INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    webhook_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    status       INTEGER,
    error_class  TEXT,
    latency_ms   INTEGER NOT NULL,
    excerpt      TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

-- Owner emails to send (after the 5th, the 14th and every failure from the 16th).
CREATE TABLE notifications (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id           TEXT NOT NULL,
    company_id           TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL,
    disabled             INTEGER NOT NULL,
    last_error           TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    handled_at           INTEGER,
    outcome              TEXT
);
CREATE INDEX notifications_pending ON notifications (id) WHERE handled_at IS NULL;
