-- Each activity entry's severity: low, medium, high or critical (issue 13). The log filters by a
-- level and those above it, and by who acted.
--
-- The default serves only a process of an earlier version still writing during an upgrade: this
-- version always says the severity.
ALTER TABLE activity ADD COLUMN severity text NOT NULL DEFAULT 'high'
    CHECK (severity IN ('low', 'medium', 'high', 'critical'));

-- The entries written before: the levels ActivityAction.defaultSeverity gives each action. A failed
-- run was critical when no retry could mend its fault; the fault's code tells which those were.
UPDATE activity SET severity = CASE
    WHEN action IN ('sync.started', 'sync.succeeded', 'oauth.refreshed', 'alert.delivered') THEN 'low'
    WHEN action IN ('tenant.updated', 'integration.updated', 'credential.updated', 'credential.cleared',
                    'oauth.connected', 'sync.cancelled', 'state.reset', 'alert_settings.updated',
                    'integration.paused') THEN 'medium'
    WHEN action IN ('oauth.refresh_failed', 'webhook.disabled') THEN 'critical'
    WHEN action = 'sync.failed' AND details -> 'error' ->> 'code' IN (
        'invalid_config', 'unknown_stream', 'invalid_url', 'egress_denied', 'credential_unreadable',
        'credential_unbound', 'credential_rejected', 'reauthorization_required',
        'missing_primary_key', 'provider_rejected', 'integration_gone', 'demo_failure') THEN 'critical'
    ELSE 'high'
END;

-- One index per level that is filtered on, holding only the entries at or above it: most entries
-- are low (every run writes two), so these stay small. The query names the same levels in the
-- same words (Store.severityCondition), or Postgres would not use them.
CREATE INDEX activity_tenant_medium_idx ON activity (tenant_id, seq DESC)
    WHERE severity IN ('medium', 'high', 'critical');
CREATE INDEX activity_tenant_high_idx ON activity (tenant_id, seq DESC)
    WHERE severity IN ('high', 'critical');
CREATE INDEX activity_tenant_critical_idx ON activity (tenant_id, seq DESC)
    WHERE severity IN ('critical');
CREATE INDEX activity_tenant_actor_idx ON activity (tenant_id, actor_type, actor_id, seq DESC);
