-- Auto-pause after persistent failure (issue 13): an integration whose runs keep failing is
-- paused, and the log of why an integration is paused.

-- The thresholds, per integration with the other alert settings; the defaults are those a row
-- written before had.
ALTER TABLE alert_settings
    ADD COLUMN auto_pause_enabled  boolean NOT NULL DEFAULT true,
    ADD COLUMN auto_pause_failures integer NOT NULL DEFAULT 20,
    ADD COLUMN auto_pause_days     integer NOT NULL DEFAULT 7;

-- When the current streak of failed runs began (its first failure's end); NULL while the last
-- run succeeded. Why a paused integration is paused; NULL unless it is.
ALTER TABLE integrations
    ADD COLUMN failing_since timestamptz,
    ADD COLUMN paused_reason text CHECK (paused_reason IN ('manual', 'daily_limit_exceeded', 'persistent_failure'));

-- A streak under way: it began with the first failure after the last success.
UPDATE integrations i SET failing_since = (
    SELECT min(r.finished_at) FROM sync_runs r
    WHERE r.integration_id = i.id AND r.status = 'failed'
      AND r.finished_at > coalesce(
          (SELECT max(s.finished_at) FROM sync_runs s WHERE s.integration_id = i.id AND s.status = 'succeeded'), '-infinity')
)
WHERE i.consecutive_failures > 0;

-- A paused integration was paused by its daily limit if that is the last thing that paused it
-- (no change by a person since); otherwise by a person.
UPDATE integrations i SET paused_reason = CASE WHEN EXISTS (
    SELECT 1 FROM activity a
    WHERE a.tenant_id = i.tenant_id AND a.integration_id = i.id AND a.action = 'integration.paused'
      AND a.details ->> 'reason' = 'daily_limit_exceeded'
      AND NOT EXISTS (
          SELECT 1 FROM activity b
          WHERE b.tenant_id = i.tenant_id AND b.integration_id = i.id AND b.action = 'integration.updated' AND b.seq > a.seq
      )
) THEN 'daily_limit_exceeded' ELSE 'manual' END
WHERE i.status = 'paused';
