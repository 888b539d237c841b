-- A claim costs what runs, not what waits (Store.claimRun, bench/claim-run): the oldest queued
-- run of a tenant with nothing running comes from the queue in (not_before, queued_at) order, and
-- the oldest of each busy tenant from its own slice of the queue.
CREATE INDEX sync_runs_queue_idx ON sync_runs (not_before, queued_at) WHERE status = 'queued';
CREATE INDEX sync_runs_tenant_queue_idx ON sync_runs (tenant_id, not_before, queued_at) WHERE status = 'queued';
-- The first of them serves everything this one did.
DROP INDEX sync_runs_claim_idx;
