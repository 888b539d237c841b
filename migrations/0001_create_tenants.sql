-- Tenants, their API keys and the activity log: the ground every later table stands on.

CREATE TABLE tenants (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL,
    alert_emails text[]      NOT NULL DEFAULT '{}',
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Keyset pagination, newest first.
CREATE INDEX tenants_created_idx ON tenants (created_at DESC, id DESC);

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    -- The first characters of the key, shown to people and used to find the row;
    -- the rest of the key is known only through its SHA-256.
    prefix       text        NOT NULL,
    key_hash     bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_keys_prefix_idx ON api_keys (prefix);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;

-- Append-only. seq orders entries (and pages them); id is what the API shows.
CREATE TABLE activity (
    seq            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             uuid        NOT NULL,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type     text        NOT NULL CHECK (actor_type IN ('admin', 'api_key', 'system')),
    actor_id       uuid,
    action         text        NOT NULL,
    integration_id uuid,
    details        jsonb       NOT NULL DEFAULT '{}'
);
-- One index for each way the log is read: all, by action, by integration; each newest first.
CREATE INDEX activity_tenant_idx ON activity (tenant_id, seq DESC);
CREATE INDEX activity_tenant_action_idx ON activity (tenant_id, action, seq DESC);
CREATE INDEX activity_tenant_integration_idx ON activity (tenant_id, integration_id, seq DESC)
    WHERE integration_id IS NOT NULL;
CREATE INDEX activity_tenant_at_idx ON activity (tenant_id, at);
