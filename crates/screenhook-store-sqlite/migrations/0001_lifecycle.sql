-- The lifecycle engine: aggregates as JSON documents beside the columns we query by,
-- the outbox (events) and durable timers.
-- Times are INTEGER milliseconds since the Unix epoch, so comparisons never depend on text formats.

CREATE TABLE companies (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);

-- Only a SHA-256 hash of each key's secret is stored (inside doc).
CREATE TABLE api_keys (
    public_id   TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX api_keys_by_company ON api_keys (company_id, created_at);

CREATE TABLE tests (
    id           TEXT PRIMARY KEY,
    company_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    framework_id TEXT,
    create_date  INTEGER NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX tests_by_company ON tests (company_id, title);

CREATE TABLE sessions (
    id                        TEXT PRIMARY KEY,
    company_id                TEXT NOT NULL,
    test_id                   TEXT NOT NULL,
    version                   INTEGER NOT NULL,
    status                    TEXT NOT NULL,
    candidate_email           TEXT NOT NULL,
    framework_id              TEXT,
    create_date               INTEGER NOT NULL,
    finish_date               INTEGER,
    greenhouse_candidate_id   TEXT,
    greenhouse_application_id TEXT,
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
    id          TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    doc         TEXT NOT NULL
);

-- The outbox. `seq` is the commit order; `id` is the stable webhook-id.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    company_id   TEXT NOT NULL,
    session_id   TEXT,
    test_id      TEXT,
    kind         TEXT NOT NULL,
    triggered_on INTEGER NOT NULL,
    payload      TEXT NOT NULL
);
CREATE INDEX events_by_session ON events (session_id, seq) WHERE session_id IS NOT NULL;

-- One timer per session at most, rewritten with every change of the session.
CREATE TABLE timers (
    session_id  TEXT PRIMARY KEY,
    company_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    due_at      INTEGER NOT NULL
);
CREATE INDEX timers_by_due ON timers (due_at);
