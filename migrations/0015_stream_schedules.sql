-- A schedule per stream (issue 13): a stream may be read more or less often than the rest of its
-- integration.

-- The overrides a client set: {"events": {"sync_frequency_minutes": 30}}; a stream without one
-- follows the integration's sync_frequency_minutes.
ALTER TABLE integrations ADD COLUMN stream_settings jsonb NOT NULL DEFAULT '{}';

-- When each stream is next due, {"events": "2026-12-04T20:41:22.123Z"}, written as a run that
-- read it ends. A stream without an entry is due whenever its integration is. next_sync_at stays
-- the earliest of them, so the scheduler's tick still reads only what is due, through
-- integrations_due_idx, and picks the due streams of each due integration from this.
ALTER TABLE integrations ADD COLUMN stream_next_sync jsonb NOT NULL DEFAULT '{}';
