-- A claim leases a delivery by setting `lease_until`. The due index keyed on `due_at`, which
-- follows the lease, so every claim was a non-HOT update: a new entry in each of the table's
-- indexes, and a dead one left at the head of the due index, which the next claims walked
-- over until a vacuum came (a large backlog drained slower and slower). The due index now
-- keys on `next_attempt_at`, which a claim does not touch, and pages keep room for a new row
-- version, so a claim rewrites the row on its page (HOT) and writes no index at all. Leased
-- rows stay in the index; a claim skips them by `lease_until`, and only the few in flight are
-- ever at its head.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'ready' AND NOT paused;
ALTER TABLE deliveries SET (fillfactor = 80);
