-- The sync engine: the run queue, per-stream checkpoints and the records themselves.

ALTER TABLE integrations
    -- Bumped by every batch written: gives the integration's records a modification order
    -- that follows commit order, because the bump locks this row until the batch commits.
    ADD COLUMN record_seq           bigint  NOT NULL DEFAULT 0,
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN last_run_id          uuid;

-- The scheduler's question, "what is due", costs what is due, not what exists.
CREATE INDEX integrations_due_idx ON integrations (next_sync_at)
    WHERE status IN ('active', 'failing') AND next_sync_at IS NOT NULL;

CREATE TABLE sync_runs (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    integration_id   uuid        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    provider         text        NOT NULL,
    trigger          text        NOT NULL CHECK (trigger IN ('initial', 'schedule', 'manual', 'retry')),
    status           text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    streams          text[]      NOT NULL,
    full_resync      boolean     NOT NULL DEFAULT false,
    attempt          integer     NOT NULL DEFAULT 1,
    max_attempts     integer     NOT NULL DEFAULT 3,
    queued_at        timestamptz NOT NULL DEFAULT now(),
    -- A retry waits out its backoff before it can be claimed again.
    not_before       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    lease_owner      text,
    lease_expires_at timestamptz,
    cancel_requested boolean     NOT NULL DEFAULT false,
    -- The run-task process working on it, for operators (and tests) to find.
    task_pid         integer,
    stream_stats     jsonb       NOT NULL DEFAULT '{}',
    records_total    bigint      NOT NULL DEFAULT 0,
    error_code       text,
    error_message    text
);
-- At most one queued or running run per integration: the database says so, not the code.
CREATE UNIQUE INDEX sync_runs_one_active_idx ON sync_runs (integration_id) WHERE status IN ('queued', 'running');
CREATE INDEX sync_runs_claim_idx ON sync_runs (not_before) WHERE status = 'queued';
CREATE INDEX sync_runs_running_idx ON sync_runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX sync_runs_integration_idx ON sync_runs (integration_id, queued_at DESC, id DESC);

ALTER TABLE integrations ADD CONSTRAINT integrations_last_run_fk
    FOREIGN KEY (last_run_id) REFERENCES sync_runs (id) ON DELETE SET NULL;

CREATE TABLE sync_state (
    integration_id uuid        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL,
    stream         text        NOT NULL,
    cursor         jsonb,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, stream)
);

-- No foreign key here on purpose: a key check per row would halve the write rate of the hottest
-- table. Deleting an integration or a tenant deletes its records explicitly, in the same transaction.
CREATE TABLE records (
    integration_id   uuid        NOT NULL,
    tenant_id        uuid        NOT NULL,
    stream           text        NOT NULL,
    record_id        text        NOT NULL,
    data             jsonb       NOT NULL,
    deleted          boolean     NOT NULL DEFAULT false,
    seq              bigint      NOT NULL,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    last_modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, stream, record_id)
);
CREATE INDEX records_seq_idx ON records (integration_id, seq);
