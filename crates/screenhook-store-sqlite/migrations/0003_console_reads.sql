-- The web console's reads: a company's sessions across its tests (Results page, Proctoring
-- queue) and a webhook's deliveries over time (the delivery log's chart).

-- The sessions' verification status becomes a column like their status, backfilled from the
-- document (JSON null stays NULL; only proctored sessions have one).
ALTER TABLE sessions ADD COLUMN verification_status TEXT;
UPDATE sessions SET verification_status = json_extract(doc, '$.verification_status')
    WHERE json_extract(doc, '$.verification_status') IS NOT NULL;

-- Newest first within a company, with or without a status (the status index also serves
-- listing one status; the other lists skip deleted sessions as they go).
CREATE INDEX sessions_by_company ON sessions (company_id, create_date DESC, id DESC);
CREATE INDEX sessions_by_company_status ON sessions (company_id, status, create_date DESC, id DESC);
-- The Proctoring queue: only proctored sessions carry a verification status.
CREATE INDEX sessions_by_company_verification ON sessions (company_id, verification_status, create_date DESC, id DESC)
    WHERE verification_status IS NOT NULL;

-- A webhook's deliveries by creation time, and its attempts by attempt time with their
-- latency (so the chart reads the index alone), instead of the webhook's whole history.
CREATE INDEX deliveries_by_webhook_created ON deliveries (webhook_id, created_at);
CREATE INDEX attempts_by_webhook ON attempts (webhook_id, at, latency_ms);
