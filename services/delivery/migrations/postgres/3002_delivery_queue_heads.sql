-- Bounded claims (BENCHMARKS.md, problem 1): the claim used to rank every due pending row, so with a
-- backlog of thousands queued behind paced recipients each claim cost tens of milliseconds and, on
-- SQLite, held the write lock that ingest needs. Now a row that waits behind an earlier pending
-- message to the same person is `queued` and not a claim candidate; when that earlier message
-- leaves PENDING the next one of the conversation is un-queued in the same transaction.
ALTER TABLE deliveries ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;

DROP INDEX deliveries_due;
-- Claim candidates: unleased heads by due time.
CREATE INDEX deliveries_ready ON deliveries (next_attempt_at)
    WHERE status = 'pending' AND queued = 0 AND lease_owner IS NULL;
-- Leased rows by lease end: expired leases come back, and the next wake-up.
CREATE INDEX deliveries_leased ON deliveries (lease_until)
    WHERE status = 'pending' AND lease_owner IS NOT NULL;
