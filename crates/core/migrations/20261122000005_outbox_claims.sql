-- A reply is delivered by whoever claims it: the app, `baton sync`, `baton draft` and a
-- relay may all run at once over one outbox. A claim is one conditional UPDATE; the lease
-- outlives any request the claimant can have in flight, so a row is only taken over from a
-- claimant that is gone.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;          -- "pid:start" of the deliverer process
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;      -- ms; the claim lapses after this
-- When the first request for this reply left: "did it already post?" looks only after it.
ALTER TABLE outbox ADD COLUMN first_attempt_at INTEGER;
-- 1 while a request may have reached the vendor without a definite answer (a timeout, a
-- crash, a 5xx): the next attempt looks on the ticket first. A definite refusal (409,
-- 4xx) sets it back to 0, so "send anyway" really sends.
ALTER TABLE outbox ADD COLUMN maybe_posted INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET maybe_posted = 1, first_attempt_at = created_at
 WHERE attempts > 0 AND state IN ('queued', 'sending');
