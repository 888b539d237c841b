-- Stripe's Idempotency-Key: the first answer to a POST, kept for a day so that a client's retry
-- gets that answer again instead of doing the work twice.
CREATE TABLE idempotency_keys (
    id            uuid        PRIMARY KEY,
    -- 'admin', or the tenant of the key that sent it: keys of different callers never meet.
    scope         text        NOT NULL,
    tenant_id     uuid        REFERENCES tenants (id) ON DELETE CASCADE,
    key           text        NOT NULL,
    -- SHA-256 of the method, the path with its query, and the body: the same key with another
    -- request is refused.
    fingerprint   bytea       NOT NULL,
    -- While the first request runs; a request that died holding it is taken over afterwards.
    locked_until  timestamptz,
    status        integer,
    content_type  text,
    location      text,
    -- The answer's body, sealed like every secret: a POST may answer one (a new API key).
    key_id        text,
    response_body bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scope, key)
);
CREATE INDEX idempotency_keys_scope_created_idx ON idempotency_keys (scope, created_at);
