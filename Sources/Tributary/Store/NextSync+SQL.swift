import Foundation

extension NextSync {
    /// The value `next_sync_at` takes for this plan, as a constant SQL expression over the
    /// integration's own row (the plan comes from `IntegrationStatus+Transitions.swift`).
    var sql: String {
        switch self {
        case .keep: "next_sync_at"
        case .clear: "NULL"
        case .now: "now()"
        // The earliest stream: each is due at its own time (`stream_next_sync`, advanced first by
        // `advanceStreams`), one not read yet at the integration's interval from now.
        case .afterInterval:
            """
            (SELECT min(coalesce((stream_next_sync ->> s)::timestamptz, now() + interval '1 minute' * sync_frequency_minutes)) \
            FROM unnest(streams) s)
            """
        }
    }

    /// The value `stream_next_sync` takes with it: a plan to sync now makes every stream due.
    var streamsSQL: String {
        self == .now ? "'{}'::jsonb" : "stream_next_sync"
    }
}

/// What the rules of an integration's status are judged on, read with its row locked.
struct LockedIntegration: Sendable {
    var status: IntegrationStatus
    var consecutiveFailures: Int
    /// Set while the volume of its next successful run is not comparable (`VolumeRules`).
    var volumeGap: Bool
    /// How long its runs have failed without one succeeding (by Postgres's clock); zero when the last succeeded.
    var failingFor: Duration = .zero

    /// `failingFor` in whole days.
    var failingDays: Int { Int(failingFor.components.seconds / 86400) }
}

extension StoreConnection {
    /// The integration's status and failure streak, its row locked until the transaction ends:
    /// status changes are judged against this, so two changes cannot both pass on a stale read.
    func lockIntegration(tenantID: UUID? = nil, id: UUID) async throws -> LockedIntegration? {
        let row = try await rows(
            """
            SELECT status, consecutive_failures, volume_gap,
                coalesce((extract(epoch FROM now() - failing_since) * 1000)::bigint, 0)
            FROM integrations
            WHERE id = \(id) AND (\(tenantID)::uuid IS NULL OR tenant_id = \(tenantID))
            FOR UPDATE
            """,
            as: String.self,
            Int.self,
            Bool.self,
            Int64.self
        ).first
        guard let (status, streak, volumeGap, failingMillis) = row else { return nil }
        return LockedIntegration(
            status: IntegrationStatus(rawValue: status) ?? .failing,
            consecutiveFailures: streak,
            volumeGap: volumeGap,
            failingFor: .milliseconds(max(0, failingMillis))
        )
    }

    /// Moves the integration to `status`, scheduling its next run as `next` says.
    /// Moves the integration to `status`; a paused one is paused for `reason` (by default a
    /// person's). Leaving a pause for persistent failure, or a reauthorization, for a scheduled
    /// status is a fresh start: the failure streak is forgotten, or the next failure would pause
    /// it again at once.
    func setStatus(integrationID: UUID, _ status: IntegrationStatus, next: NextSync, reason: PausedReason = .manual) async throws {
        // Whether this change is such a fresh start (the row's old values are what SET reads).
        let restarts = "\(status.isScheduled) AND (paused_reason = 'persistent_failure' OR status = 'reauthorization_required')"
        try await query(
            """
            UPDATE integrations SET status = \(status.rawValue), next_sync_at = \(unescaped: next.sql),
                stream_next_sync = \(unescaped: next.streamsSQL),
                paused_reason = CASE WHEN \(status.rawValue) <> 'paused' THEN NULL
                                     WHEN status = 'paused' THEN paused_reason ELSE \(reason.rawValue) END,
                consecutive_failures = CASE WHEN \(unescaped: restarts) THEN 0 ELSE consecutive_failures END,
                failing_since = CASE WHEN \(unescaped: restarts) THEN NULL ELSE failing_since END,
                volume_gap = volume_gap OR \(status.breaksVolumeWindow), updated_at = now()
            WHERE id = \(integrationID)
            """
        )
    }

    /// Each of `streams` (those the integration still reads) due again one of its own intervals
    /// from now: what a run that read them leaves, before `NextSync.afterInterval` takes the earliest.
    /// `whileUnscheduled`: only if the integration is not due already (a cancelled run's).
    func advanceStreams(integrationID: UUID, _ streams: [String], whileUnscheduled: Bool = false) async throws {
        try await query(
            """
            UPDATE integrations SET stream_next_sync = stream_next_sync || coalesce((
                SELECT jsonb_object_agg(s, to_char(
                    (now() + interval '1 minute' * coalesce((stream_settings -> s ->> 'sync_frequency_minutes')::int, sync_frequency_minutes))
                        AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                FROM unnest(\(streams)::text[]) s WHERE s = ANY(streams)
            ), '{}'::jsonb)
            WHERE id = \(integrationID) AND (NOT \(whileUnscheduled) OR next_sync_at IS NULL)
            """
        )
    }
}
