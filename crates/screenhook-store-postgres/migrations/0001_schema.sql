-- The PostgreSQL schema: the same tables, columns and queue invariants as the SQLite store.
-- Times are BIGINT milliseconds since the Unix epoch; documents are TEXT (JSON), exactly as the
-- SQLite store writes them. Text keys use the "C" collation so that ids (time-ordered base62)
-- and titles sort byte-wise, as on SQLite, whatever the database's locale.

CREATE TABLE companies (
    id          TEXT COLLATE "C" PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    doc         TEXT NOT NULL
);

-- Only a SHA-256 hash of each key's secret is stored (inside doc).
CREATE TABLE api_keys (
    public_id   TEXT COLLATE "C" PRIMARY KEY,
    company_id  TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX api_keys_by_company ON api_keys (company_id, created_at);

CREATE TABLE tests (
    id           TEXT COLLATE "C" PRIMARY KEY,
    company_id   TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    title        TEXT COLLATE "C" NOT NULL,
    status       TEXT NOT NULL,
    framework_id TEXT COLLATE "C",
    create_date  BIGINT NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX tests_by_company ON tests (company_id, title);

CREATE TABLE sessions (
    id                        TEXT COLLATE "C" PRIMARY KEY,
    company_id                TEXT COLLATE "C" NOT NULL,
    test_id                   TEXT COLLATE "C" NOT NULL,
    version                   BIGINT NOT NULL,
    status                    TEXT NOT NULL,
    candidate_email           TEXT COLLATE "C" NOT NULL,
    framework_id              TEXT COLLATE "C",
    create_date               BIGINT NOT NULL,
    finish_date               BIGINT,
    greenhouse_candidate_id   TEXT COLLATE "C",
    greenhouse_application_id TEXT COLLATE "C",
    doc                       TEXT NOT NULL
);
CREATE INDEX sessions_by_test ON sessions (company_id, test_id, finish_date);
-- Only Certified Evaluations need a candidate's history (re-shares, cooldowns).
CREATE INDEX sessions_by_candidate ON sessions (candidate_email, framework_id) WHERE framework_id IS NOT NULL;
CREATE INDEX sessions_by_greenhouse_candidate ON sessions (company_id, greenhouse_candidate_id)
    WHERE greenhouse_candidate_id IS NOT NULL;
CREATE INDEX sessions_by_greenhouse_application ON sessions (company_id, greenhouse_application_id)
    WHERE greenhouse_application_id IS NOT NULL;

CREATE TABLE interviews (
    id          TEXT COLLATE "C" PRIMARY KEY,
    company_id  TEXT COLLATE "C" NOT NULL,
    version     BIGINT NOT NULL,
    doc         TEXT NOT NULL
);

-- The outbox. `seq` is the commit order (events are inserted under one advisory lock held to
-- commit, see the crate docs); `id` is the stable webhook-id.
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    company_id   TEXT COLLATE "C" NOT NULL,
    session_id   TEXT COLLATE "C",
    test_id      TEXT COLLATE "C",
    kind         TEXT NOT NULL,
    triggered_on BIGINT NOT NULL,
    payload      TEXT NOT NULL
);
CREATE INDEX events_by_session ON events (session_id, seq) WHERE session_id IS NOT NULL;

-- One timer per session at most, rewritten with every change of the session.
CREATE TABLE timers (
    session_id  TEXT COLLATE "C" PRIMARY KEY,
    company_id  TEXT COLLATE "C" NOT NULL,
    kind        TEXT NOT NULL,
    due_at      BIGINT NOT NULL
);
CREATE INDEX timers_by_due ON timers (due_at);

CREATE TABLE webhooks (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    company_id           TEXT COLLATE "C" NOT NULL,
    state                TEXT NOT NULL,              -- active | unhealthy | disabled
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    probe_after          BIGINT NOT NULL DEFAULT 0, -- unhealthy: when the next probe may go
    probe_lease_until    BIGINT NOT NULL DEFAULT 0, -- a probe is in flight until then
    deleted              BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           BIGINT NOT NULL,
    doc                  TEXT NOT NULL               -- url, events, secret, owners, headers
);
CREATE INDEX webhooks_by_company ON webhooks (company_id, created_at);
CREATE INDEX webhooks_to_probe ON webhooks (probe_after) WHERE state = 'unhealthy' AND NOT deleted;

-- Which live webhook wants which event: the fan-out reads only this.
CREATE TABLE webhook_subscriptions (
    company_id  TEXT COLLATE "C" NOT NULL,
    event       TEXT COLLATE "C" NOT NULL,
    webhook_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (company_id, event, webhook_id)
);
CREATE INDEX webhook_subscriptions_by_webhook ON webhook_subscriptions (webhook_id);

-- One row per (event, webhook). Within one (webhook, order_key) only the oldest unfinished
-- row is `ready`; the others are `waiting`, so a session's events arrive in firing order.
-- `paused` mirrors "the webhook is not active": paused rows wait for a probe or a repair.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq       BIGINT NOT NULL,
    webhook_id      TEXT COLLATE "C" NOT NULL,
    company_id      TEXT COLLATE "C" NOT NULL,
    order_key       TEXT COLLATE "C" NOT NULL,
    state           TEXT NOT NULL,            -- ready | waiting | delivered | failed | cancelled
    paused          BOOLEAN NOT NULL DEFAULT FALSE,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    -- When it may be claimed: due and not leased. Indexed, so leased rows (however many are
    -- in flight) never slow a claim down.
    due_at          BIGINT GENERATED ALWAYS AS (GREATEST(next_attempt_at, lease_until)) STORED,
    claim           BIGINT NOT NULL DEFAULT 0, -- fencing token: bumped by every claim
    last_status     BIGINT,
    last_error      TEXT,
    replay          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state = 'ready' AND NOT paused;
CREATE INDEX deliveries_queue ON deliveries (webhook_id, order_key, id) WHERE state IN ('ready', 'waiting');
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_seq);

CREATE TABLE attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  BIGINT NOT NULL,
    webhook_id   TEXT COLLATE "C" NOT NULL,
    attempt      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    status       BIGINT,
    error_class  TEXT,
    latency_ms   BIGINT NOT NULL,
    excerpt      TEXT NOT NULL
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);

-- Owner emails to send (after the 5th, the 14th and every failure from the 16th).
CREATE TABLE notifications (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id           TEXT COLLATE "C" NOT NULL,
    company_id           TEXT COLLATE "C" NOT NULL,
    consecutive_failures BIGINT NOT NULL,
    disabled             BOOLEAN NOT NULL,
    last_error           TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    handled_at           BIGINT,
    outcome              TEXT
);
CREATE INDEX notifications_pending ON notifications (id) WHERE handled_at IS NULL;
