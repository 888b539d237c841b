-- Alerts end to end: per-integration alert settings, what makes a run comparable for volume
-- alerts, webhook endpoints, and one durable outbox for every email and webhook delivery.

-- The settings of one integration's alerts; an integration without a row has the defaults.
CREATE TABLE alert_settings (
    integration_id       uuid        PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    tenant_id            uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    spike_enabled        boolean     NOT NULL,
    threshold_percent    integer     NOT NULL,
    min_records          bigint      NOT NULL,
    baseline_runs        integer     NOT NULL,
    daily_limit          bigint,
    pause_on_daily_limit boolean     NOT NULL,
    failures_enabled     boolean     NOT NULL,
    consecutive_failures integer     NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- True from the moment an integration is paused, needs reauthorization or is failing, until a
-- run succeeds while it is active again: that run's window is longer than usual, so its volume
-- is neither judged nor a baseline.
ALTER TABLE integrations ADD COLUMN volume_gap boolean NOT NULL DEFAULT false;
UPDATE integrations SET volume_gap = true WHERE status IN ('paused', 'reauthorization_required', 'failing');

-- A run whose volume may be judged and, once it succeeded, be a baseline.
ALTER TABLE sync_runs ADD COLUMN volume_comparable boolean NOT NULL DEFAULT false;
CREATE INDEX sync_runs_baseline_idx ON sync_runs (integration_id, finished_at DESC) WHERE volume_comparable AND status = 'succeeded';
-- The volume chart and the daily limit read finished runs by day.
CREATE INDEX sync_runs_finished_idx ON sync_runs (integration_id, finished_at) WHERE finished_at IS NOT NULL;

-- One alert per thing it is about (a stream of a run, an integration's day, a failure streak, a
-- refused credential): the key says what, so a retried or raced detection raises nothing twice.
ALTER TABLE alerts
    ADD COLUMN dedup_key text,
    ADD COLUMN run_id    uuid REFERENCES sync_runs (id) ON DELETE SET NULL,
    ADD COLUMN details   jsonb NOT NULL DEFAULT '{}',
    DROP COLUMN email_status,
    DROP COLUMN email_attempts,
    DROP COLUMN email_sent_at;
UPDATE alerts SET dedup_key = 'legacy/' || id::text;
ALTER TABLE alerts ALTER COLUMN dedup_key SET NOT NULL;
CREATE UNIQUE INDEX alerts_dedup_idx ON alerts (dedup_key);
CREATE INDEX alerts_integration_idx ON alerts (integration_id, created_at DESC, id DESC);

CREATE TABLE webhooks (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         text        NOT NULL,
    events      text[]      NOT NULL,
    key_id      text        NOT NULL,
    secret      bytea       NOT NULL,
    status      text        NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    disabled_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant_idx ON webhooks (tenant_id, created_at DESC, id DESC);

-- Every email and every webhook delivery, written in the transaction of what it announces and
-- delivered by the worker's sender. A claimed row's next_attempt_at moves past the claim's end,
-- so a sender that dies leaves it due again; `attempts` numbers the claims, and only the claim
-- that holds the current number may record the outcome.
CREATE TABLE outbox (
    id              uuid        PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel         text        NOT NULL CHECK (channel IN ('email', 'webhook')),
    alert_id        uuid        REFERENCES alerts (id) ON DELETE CASCADE,
    webhook_id      uuid        REFERENCES webhooks (id) ON DELETE CASCADE,
    -- Webhooks: the event (its id is `webhook-id`, the same on every retry) and the exact body.
    event_id        uuid,
    event_type      text,
    body            text,
    -- Email: who it goes to, fixed when the alert was raised.
    recipients      text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at      timestamptz NOT NULL,
    last_error      text,
    last_status     integer,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel = 'email') = (alert_id IS NOT NULL AND webhook_id IS NULL)),
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL AND event_id IS NOT NULL AND body IS NOT NULL))
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_alert_idx ON outbox (alert_id) WHERE alert_id IS NOT NULL;
