-- Integrations, their encrypted credentials, OAuth apps and OAuth states, and alerts.
-- Every secret is an AES-256-GCM box (nonce, ciphertext, tag) with the id of the key that sealed it.

CREATE TABLE integrations (
    id                     uuid        PRIMARY KEY,
    tenant_id              uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider               text        NOT NULL,
    name                   text        NOT NULL,
    config                 jsonb       NOT NULL DEFAULT '{}',
    streams                text[]      NOT NULL,
    sync_frequency_minutes integer     NOT NULL DEFAULT 360 CHECK (sync_frequency_minutes BETWEEN 30 AND 1440),
    status                 text        NOT NULL CHECK (status IN
                               ('active', 'paused', 'pending_authorization', 'reauthorization_required', 'failing')),
    next_sync_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrations_tenant_idx ON integrations (tenant_id, created_at DESC, id DESC);

CREATE TABLE credentials (
    integration_id uuid        PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type           text        NOT NULL CHECK (type IN ('api_key', 'oauth2')),
    key_id         text        NOT NULL,
    secret         bytea       NOT NULL,
    -- A keyed hash of the secret, so people can tell credentials apart without seeing them.
    fingerprint    text        NOT NULL,
    -- When the OAuth access token expires; null for API keys.
    expires_at     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One OAuth client per provider, configured by the admin.
CREATE TABLE oauth_apps (
    provider      text        PRIMARY KEY,
    client_id     text        NOT NULL,
    key_id        text        NOT NULL,
    client_secret bytea       NOT NULL,
    scopes        text[]      NOT NULL DEFAULT '{}',
    authorize_url text        NOT NULL,
    token_url     text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Pending authorizations. The state is the capability of the callback: only its hash is kept,
-- it expires, and it is used once.
CREATE TABLE oauth_states (
    state_hash     bytea       PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    integration_id uuid        NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    key_id         text        NOT NULL,
    code_verifier  bytea       NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

CREATE TABLE alerts (
    id             uuid        PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    integration_id uuid        REFERENCES integrations (id) ON DELETE CASCADE,
    kind           text        NOT NULL CHECK (kind IN
                       ('data_spike', 'daily_limit_exceeded', 'sync_failures', 'reauthorization_required')),
    stream         text,
    observed       bigint,
    baseline       double precision,
    threshold      double precision,
    created_at     timestamptz NOT NULL DEFAULT now(),
    email_status   text        NOT NULL DEFAULT 'pending' CHECK (email_status IN ('pending', 'sent', 'failed')),
    email_attempts integer     NOT NULL DEFAULT 0,
    email_sent_at  timestamptz
);
CREATE INDEX alerts_tenant_idx ON alerts (tenant_id, created_at DESC, id DESC);
