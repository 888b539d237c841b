import Foundation
import PostgresNIO
import TributaryConnectors

/// An alert to raise, with the key that makes it once-only: a retried or raced detection finds
/// the key taken and raises nothing.
struct AlertDraft: Sendable {
    var tenantID: UUID
    var integrationID: UUID?
    var kind: AlertKind
    var dedupKey: String
    var stream: String? = nil
    var observed: Int64? = nil
    var baseline: Double? = nil
    var threshold: Double? = nil
    var runID: UUID? = nil
    var details: [String: JSONValue] = [:]
}

extension StoreConnection {
    /// The alerts of a run that just ended for good, judged by `VolumeRules` in the transaction
    /// that ended it: `before` is the integration as the run found it (its row locked),
    /// `statusAfter` where the run left it.
    func judgeAlerts(after run: SyncRun, failure: RunFailureJudgement, settings: AlertSettings, statusAfter: IntegrationStatus) async throws {
        let before = failure.before
        if !failure.failed && VolumeRules.isComparable(run, status: before.status, volumeGap: before.volumeGap) {
            try await judgeSpikes(of: run, settings: settings.dataSpike)
            try await query("UPDATE sync_runs SET volume_comparable = true WHERE id = \(run.id)")
        }
        if !run.isHistorical {
            try await judgeDailyLimit(of: run, settings: settings.dataSpike, status: statusAfter)
        }
        // A rejected credential has its own alert (reauthorization_required); a pause for
        // persistent failure says so in an alert of its own, even when the streak's was raised.
        let streakAlert = VolumeRules.failureStreakAlerts(streak: failure.streak, settings: settings.syncFailures)
        if failure.failed && !failure.credentialRejected && (streakAlert || (failure.pauses && settings.syncFailures.enabled)) {
            // One alert per streak: a streak is known by the last run that succeeded before it.
            let lastSuccess = try await rows(
                """
                SELECT id FROM sync_runs WHERE integration_id = \(run.integrationID) AND status = 'succeeded'
                ORDER BY finished_at DESC LIMIT 1
                """,
                as: UUID.self
            ).first
            var details: [String: JSONValue] = run.error.map { ["error": $0.json] } ?? [:]
            if failure.pauses {
                details["paused"] = true
                details["reason"] = .string(PausedReason.persistentFailure.rawValue)
                details["failing_days"] = .number(Double(failure.before.failingDays))
            }
            try await raiseAlert(
                AlertDraft(
                    tenantID: run.tenantID,
                    integrationID: run.integrationID,
                    kind: .syncFailures,
                    dedupKey: "sync_failures/\(run.integrationID.lowercased)/\(lastSuccess?.lowercased ?? "never")"
                        + (failure.pauses ? "/paused" : ""),
                    observed: Int64(failure.streak),
                    threshold: Double(failure.pauses ? settings.autoPause.consecutiveFailures : settings.syncFailures.consecutiveFailures),
                    runID: run.id,
                    details: details
                )
            )
        }
    }

    /// One `data_spike` per stream of the run whose records pass its baseline.
    private func judgeSpikes(of run: SyncRun, settings: AlertSettings.DataSpike) async throws {
        guard settings.enabled else { return }
        for (stream, stats) in run.allStreams.sorted(by: { $0.key < $1.key }) {
            let history = try await rows(
                """
                SELECT coalesce((stream_stats -> \(stream) ->> 'records_upserted')::bigint, 0) FROM sync_runs
                WHERE integration_id = \(run.integrationID) AND volume_comparable AND status = 'succeeded'
                  AND id <> \(run.id) AND \(stream) = ANY(streams)
                ORDER BY finished_at DESC LIMIT \(settings.baselineRuns)
                """,
                as: Int64.self
            )
            guard let spike = VolumeRules.spike(observed: stats.recordsUpserted, history: history, settings: settings) else { continue }
            try await raiseAlert(
                AlertDraft(
                    tenantID: run.tenantID,
                    integrationID: run.integrationID,
                    kind: .dataSpike,
                    dedupKey: "data_spike/\(run.id.lowercased)/\(stream)",
                    stream: stream,
                    observed: spike.observed,
                    baseline: spike.baseline,
                    threshold: spike.threshold,
                    runID: run.id
                )
            )
        }
    }

    /// `daily_limit_exceeded` once per integration and UTC day, pausing it when asked. The run
    /// that crossed the limit keeps everything it stored: the pause stops the next ones.
    private func judgeDailyLimit(of run: SyncRun, settings: AlertSettings.DataSpike, status: IntegrationStatus) async throws {
        guard settings.enabled, settings.dailyLimit != nil else { return }
        guard
            let (today, loaded) = try await rows(
                """
                SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                    coalesce(sum((s.value ->> 'records_upserted')::bigint), 0)::bigint
                FROM sync_runs r CROSS JOIN LATERAL jsonb_each(r.stream_stats) s
                WHERE r.integration_id = \(run.integrationID) AND NOT (r.trigger = 'initial' OR r.full_resync)
                  AND r.finished_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                """,
                as: String.self,
                Int64.self
            ).first,
            VolumeRules.passesDailyLimit(loadedToday: loaded, settings: settings)
        else { return }
        let pause = settings.pauseOnDailyLimit && status.isScheduled
        let alert = try await raiseAlert(
            AlertDraft(
                tenantID: run.tenantID,
                integrationID: run.integrationID,
                kind: .dailyLimitExceeded,
                dedupKey: "daily_limit_exceeded/\(run.integrationID.lowercased)/\(today)",
                observed: loaded,
                threshold: settings.dailyLimit.map(Double.init),
                runID: run.id,
                details: ["paused": .bool(pause), "date": .string(today)]
            )
        )
        guard let alert, pause else { return }
        try await setStatus(integrationID: run.integrationID, .paused, next: status.nextSync(changingTo: .paused), reason: .dailyLimitExceeded)
        try await appendActivity(
            ActivityDraft(
                tenantID: run.tenantID,
                actor: .system,
                action: .integrationPaused,
                integrationID: run.integrationID,
                details: ["reason": "daily_limit_exceeded", "alert_id": .string(alert.id.lowercased), "records_today": .number(Double(loaded))]
            )
        )
    }
}
