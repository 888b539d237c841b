import Foundation
import PostgresNIO
import TributaryConnectors

/// How a failed attempt ended for the run.
enum FailOutcome: Sendable, Equatable {
    /// Queued again, to be claimed after its backoff.
    case retrying(attempt: Int)
    case failed
    /// The run was not ours (any more) to fail.
    case notOwned
}

extension Store {
    /// Marks the run succeeded (the run-task does this itself, after its last batch).
    func completeRun(runID: UUID, owner: String) async throws -> Bool {
        try await withTransaction { connection in
            guard
                let run = try await connection.runs(
                    """
                    WITH done AS (
                        UPDATE sync_runs SET status = 'succeeded', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                            error_code = NULL, error_message = NULL
                        WHERE id = \(runID) AND lease_owner = \(owner) AND status = 'running'
                        RETURNING *
                    )
                    SELECT \(unescaped: Self.runColumns) FROM done r
                    """
                ).first?.0
            else { return false }
            try await connection.settleIntegration(after: run, failed: false)
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: run.tenantID,
                    actor: .system,
                    action: .syncSucceeded,
                    integrationID: run.integrationID,
                    details: Self.runDetails(run)
                )
            )
            return true
        }
    }

    /// Ends an attempt that failed: queued again after `backoff` while attempts remain and the
    /// error may pass, else failed for good; cancelled instead, if someone asked for that.
    /// `lapsed` reclaims a run of a silent worker: it must still be that claim, and still expired.
    func failRun(
        runID: UUID,
        owner: String,
        lapsed: Bool = false,
        error: RunError,
        retryable: Bool,
        backoff: Duration
    ) async throws -> FailOutcome {
        try await withTransaction { connection in
            let locked = try await connection.rows(
                """
                SELECT attempt, max_attempts, cancel_requested FROM sync_runs
                WHERE id = \(runID) AND status = 'running' AND lease_owner = \(owner)
                  AND (NOT \(lapsed) OR lease_expires_at < now())
                FOR UPDATE
                """,
                as: Int.self,
                Int.self,
                Bool.self
            )
            guard let (attempt, maxAttempts, cancelRequested) = locked.first else { return .notOwned }
            if cancelRequested {
                try await connection.cancelOwned(runID: runID, owner: owner)
                return .failed
            }
            if retryable && attempt < maxAttempts {
                let millis = backoff.wholeMilliseconds
                try await connection.query(
                    """
                    UPDATE sync_runs SET status = 'queued', attempt = attempt + 1, lease_owner = NULL, lease_expires_at = NULL,
                        task_pid = NULL, not_before = now() + interval '1 millisecond' * \(millis),
                        error_code = \(error.code), error_message = \(error.message)
                    WHERE id = \(runID)
                    """
                )
                return .retrying(attempt: attempt + 1)
            }
            guard
                let run = try await connection.runs(
                    """
                    WITH done AS (
                        UPDATE sync_runs SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                            error_code = \(error.code), error_message = \(error.message)
                        WHERE id = \(runID) RETURNING *
                    )
                    SELECT \(unescaped: Self.runColumns) FROM done r
                    """
                ).first?.0
            else { return .notOwned }
            try await connection.settleIntegration(after: run, failed: true)
            var details = Self.runDetails(run)
            details["error"] = error.json
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: run.tenantID,
                    actor: .system,
                    action: .syncFailed,
                    // Retries spent on a passing fault are a temporary failure; a fault no retry mends is not.
                    severity: retryable ? .high : .critical,
                    integrationID: run.integrationID,
                    details: details
                )
            )
            return .failed
        }
    }

    /// Cancels a run: a queued one at once, a running one by asking its worker to stop the
    /// run-task. Nil when there is no such run; the run as it now stands otherwise.
    func cancelRun(tenantID: UUID, integrationID: UUID, runID: UUID, actor: ActivityActor) async throws -> SyncRun? {
        try await withTransaction { connection in
            let updated = try await connection.runs(
                """
                WITH changed AS (
                    UPDATE sync_runs SET
                        status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
                        finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
                        cancel_requested = (status = 'running')
                    WHERE id = \(runID) AND tenant_id = \(tenantID) AND integration_id = \(integrationID)
                      AND status IN ('queued', 'running')
                    RETURNING *
                )
                SELECT \(unescaped: Self.runColumns) FROM changed r
                """
            )
            guard let run = updated.first?.0 else {
                return try await connection.runs(
                    """
                    SELECT \(unescaped: Self.runColumns) FROM sync_runs r
                    WHERE r.id = \(runID) AND r.tenant_id = \(tenantID) AND r.integration_id = \(integrationID)
                    """
                ).first?.0
            }
            if run.status == .cancelled {
                try await connection.settleCancelled(run, actor: actor)
            }
            return run
        }
    }

    /// The worker stopped a running run on request.
    func finishCancelled(runID: UUID, owner: String) async throws {
        try await withTransaction { connection in
            try await connection.cancelOwned(runID: runID, owner: owner)
        }
    }

    /// Gives a run back to the queue as it was, the attempt not counted: its worker is shutting
    /// down, which is no fault of the run's.
    func releaseRun(runID: UUID, owner: String) async throws {
        try await withTransaction { connection in
            _ = try await connection.rows(
                """
                UPDATE sync_runs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
                    finished_at = CASE WHEN cancel_requested THEN now() END,
                    lease_owner = NULL, lease_expires_at = NULL, task_pid = NULL, not_before = now()
                WHERE id = \(runID) AND lease_owner = \(owner) AND status = 'running'
                RETURNING 1
                """,
                as: Int.self
            )
        }
    }

    static func runDetails(_ run: SyncRun) -> [String: JSONValue] {
        var streams: [String: JSONValue] = [:]
        for (name, stats) in run.streams {
            streams[name] = [
                "records_read": .number(Double(stats.recordsRead)), "records_upserted": .number(Double(stats.recordsUpserted)),
                "records_deleted": .number(Double(stats.recordsDeleted)), "records_skipped": .number(Double(stats.recordsSkipped)),
            ]
        }
        return [
            "run_id": .string(run.id.lowercased), "trigger": .string(run.trigger.rawValue), "attempt": .number(Double(run.attempt)),
            "records_total": .number(Double(run.recordsTotal)), "streams": .object(streams),
        ]
    }
}

extension StoreConnection {
    /// Ends a running run of `owner` as cancelled.
    func cancelOwned(runID: UUID, owner: String) async throws {
        guard
            let run = try await runs(
                """
                WITH done AS (
                    UPDATE sync_runs SET status = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = \(runID) AND lease_owner = \(owner) AND status = 'running' RETURNING *
                )
                SELECT \(unescaped: Store.runColumns) FROM done r
                """
            ).first?.0
        else { return }
        try await settleCancelled(run, actor: .system)
    }

    func settleCancelled(_ run: SyncRun, actor: ActivityActor) async throws {
        // A cancelled run counts neither way; the integration is due again unless it already is.
        let current = try await lockIntegration(id: run.integrationID)?.status
        let next = current?.nextSyncAfterRun ?? .keep
        if next == .afterInterval { try await advanceStreams(integrationID: run.integrationID, run.streamNames, whileUnscheduled: true) }
        try await query(
            """
            UPDATE integrations SET last_run_id = \(run.id),
                next_sync_at = coalesce(next_sync_at, \(unescaped: next.sql))
            WHERE id = \(run.integrationID)
            """
        )
        try await appendActivity(
            ActivityDraft(
                tenantID: run.tenantID,
                actor: actor,
                action: .syncCancelled,
                integrationID: run.integrationID,
                details: Store.runDetails(run)
            )
        )
    }
}

extension StoreConnection {
    /// After a run ended for good: the failure streak, the status and the next run, by the rules
    /// of `IntegrationStatus+Transitions.swift`, judged on the locked integration row; then the
    /// run's alerts (`VolumeRules`) and its webhook event, in the same transaction.
    func settleIntegration(after run: SyncRun, failed: Bool) async throws {
        guard let current = try await lockIntegration(id: run.integrationID) else { return }
        let settings = try await alertSettings(integrationID: run.integrationID)
        let streak = failed ? current.consecutiveFailures + 1 : 0
        var status = failed ? current.status.afterFailedRun(consecutiveFailures: streak) : current.status.afterSuccessfulRun
        let failure = RunFailureJudgement(
            run: run,
            failed: failed,
            statusAfter: status,
            streak: streak,
            before: current,
            settings: settings.autoPause
        )
        if failure.credentialRejected { status = status.afterRejectedCredential }
        if failure.pauses { status = .paused }
        // A run that stopped the schedule leaves it stopped; otherwise the schedule goes on as before.
        let next = status == current.status || status.isScheduled ? current.status.nextSyncAfterRun : .clear
        // A failed run leaves a gap open; a successful one closes it once the integration is active.
        let volumeGap = failed ? current.volumeGap || status.breaksVolumeWindow : status.breaksVolumeWindow
        if next == .afterInterval { try await advanceStreams(integrationID: run.integrationID, run.streamNames) }
        try await query(
            """
            UPDATE integrations SET consecutive_failures = \(streak), last_run_id = \(run.id), status = \(status.rawValue),
                next_sync_at = \(unescaped: next.sql), volume_gap = \(volumeGap),
                failing_since = CASE WHEN \(failed) THEN coalesce(failing_since, now()) ELSE NULL END,
                paused_reason = CASE WHEN \(status.rawValue) <> 'paused' THEN NULL
                                     WHEN \(failure.pauses) THEN \(PausedReason.persistentFailure.rawValue) ELSE paused_reason END,
                updated_at = now()
            WHERE id = \(run.integrationID)
            """
        )
        if failure.credentialRejected, let error = run.error {
            try await appendActivity(
                ActivityDraft(
                    tenantID: run.tenantID,
                    actor: .system,
                    action: .credentialRejected,
                    integrationID: run.integrationID,
                    details: ["run_id": .string(run.id.lowercased), "error": error.json]
                )
            )
            try await raiseReauthorization(tenantID: run.tenantID, integrationID: run.integrationID, error: error)
        }
        if failure.pauses {
            try await appendActivity(
                ActivityDraft(
                    tenantID: run.tenantID,
                    actor: .system,
                    action: .integrationPaused,
                    // Stopped for good until a person acts: the integration is disabled.
                    severity: .critical,
                    integrationID: run.integrationID,
                    details: [
                        "reason": .string(PausedReason.persistentFailure.rawValue), "run_id": .string(run.id.lowercased),
                        "consecutive_failures": .number(Double(streak)),
                        "failing_days": .number(Double(current.failingDays)),
                    ]
                )
            )
        }
        try await judgeAlerts(after: run, failure: failure, settings: settings, statusAfter: status)
        try await announce(failed ? .syncFailed : .syncSucceeded, tenantID: run.tenantID, data: run)
    }
}
