import Foundation
import PostgresNIO
import TributaryConnectors

/// A run a worker has claimed: enough to start its run-task and to finish it.
struct ClaimedRun: Sendable {
    var id: UUID
    var tenantID: UUID
    var integrationID: UUID
    var attempt: Int
}

/// What the queue's limits are.
struct ClaimLimits: Sendable {
    var perTenant: Int
    var perProvider: Int
}

extension Store {
    static let runColumns = """
        r.id, r.tenant_id, r.integration_id, r.trigger, r.status, r.streams, r.full_resync, r.attempt, r.queued_at,
        r.started_at, r.finished_at, r.stream_stats::text, r.records_total, r.error_code, r.error_message,
        (extract(epoch FROM r.queued_at) * 1000000)::bigint
        """

    /// Queues a manual run; when one is already queued or running, returns that one's id instead.
    func enqueueRun(
        integration: Integration, trigger: RunTrigger, streams: [String], fullResync: Bool, maxAttempts: Int, actor: Actor
    ) async throws -> Result<SyncRun, ActiveRunError> {
        try await write { connection in
            if let run = try await connection.insertRun(
                tenantID: integration.tenantID, integrationID: integration.id, provider: integration.provider, trigger: trigger,
                streams: streams, fullResync: fullResync, maxAttempts: maxAttempts)
            {
                return .success(run)
            }
            let active = try await connection.rows(
                "SELECT id FROM sync_runs WHERE integration_id = \(integration.id) AND status IN ('queued', 'running')", as: UUID.self)
            return .failure(ActiveRunError(runID: active.first))
        }
    }

    func run(tenantID: UUID, integrationID: UUID, runID: UUID) async throws -> SyncRun? {
        try await read { connection in
            try await connection.runs(
                "SELECT \(unescaped: Self.runColumns) FROM sync_runs r WHERE r.tenant_id = \(tenantID) AND r.integration_id = \(integrationID) AND r.id = \(runID)"
            ).first?.0
        }
    }

    func run(id: UUID) async throws -> SyncRun? {
        try await read { connection in
            try await connection.runs("SELECT \(unescaped: Self.runColumns) FROM sync_runs r WHERE r.id = \(id)").first?.0
        }
    }

    func runs(tenantID: UUID, integrationID: UUID, after: TimeKeyset?, limit: Int) async throws -> Page<SyncRun> {
        let rows = try await read { connection in
            try await connection.runs(
                """
                SELECT \(unescaped: Self.runColumns) FROM sync_runs r
                WHERE r.tenant_id = \(tenantID) AND r.integration_id = \(integrationID)
                  AND (\(after == nil) OR (r.queued_at, r.id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY r.queued_at DESC, r.id DESC
                LIMIT \(limit + 1)
                """)
        }
        return Self.page(rows.map { ($0.0, $0.1, $0.0.id) }, limit: limit)
    }

    /// The scheduler's step: queues a run for every due integration (at most `limit`), in one
    /// statement that any number of schedulers may run at once.
    func enqueueDue(limit: Int, maxAttempts: Int) async throws -> Int {
        try await write { connection in
            try await connection.rows(
                """
                WITH due AS (
                    SELECT id FROM integrations
                    WHERE status IN ('active', 'failing') AND next_sync_at IS NOT NULL AND next_sync_at <= now()
                    ORDER BY next_sync_at
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ), cleared AS (
                    UPDATE integrations i SET next_sync_at = NULL FROM due WHERE i.id = due.id
                    RETURNING i.id, i.tenant_id, i.provider, i.streams,
                        EXISTS (SELECT 1 FROM sync_runs s WHERE s.integration_id = i.id AND s.status = 'succeeded') AS synced
                )
                INSERT INTO sync_runs (id, tenant_id, integration_id, provider, trigger, status, streams, max_attempts)
                SELECT gen_random_uuid(), tenant_id, id, provider, CASE WHEN synced THEN 'schedule' ELSE 'initial' END,
                       'queued', streams, \(maxAttempts)
                FROM cleared
                ON CONFLICT (integration_id) WHERE status IN ('queued', 'running') DO NOTHING
                RETURNING id
                """, as: UUID.self
            ).count
        }
    }

    /// Claims the oldest claimable run within the limits. Claims are serialized by a transaction
    /// advisory lock, so that the running counts they read are true across every worker.
    func claimRun(owner: String, leaseSeconds: Int, limits: ClaimLimits) async throws -> ClaimedRun? {
        try await write { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.claimLockKey))")
            let claimed = try await connection.rows(
                """
                WITH running AS (
                    SELECT tenant_id, provider FROM sync_runs WHERE status = 'running'
                ), candidate AS (
                    SELECT r.id FROM sync_runs r
                    WHERE r.status = 'queued' AND r.not_before <= now()
                      AND (SELECT count(*) FROM running x WHERE x.tenant_id = r.tenant_id) < \(limits.perTenant)
                      AND (SELECT count(*) FROM running x WHERE x.provider = r.provider) < \(limits.perProvider)
                    ORDER BY (SELECT count(*) FROM running x WHERE x.tenant_id = r.tenant_id), r.not_before, r.queued_at
                    LIMIT 1
                    FOR UPDATE OF r SKIP LOCKED
                )
                UPDATE sync_runs r SET status = 'running', lease_owner = \(owner),
                    lease_expires_at = now() + interval '1 second' * \(leaseSeconds),
                    started_at = coalesce(r.started_at, now()), task_pid = NULL
                FROM candidate WHERE r.id = candidate.id
                RETURNING r.id, r.tenant_id, r.integration_id, r.attempt, r.trigger
                """, as: UUID.self, UUID.self, UUID.self, Int.self, String.self)
            guard let row = claimed.first else { return nil }
            let run = ClaimedRun(id: row.0, tenantID: row.1, integrationID: row.2, attempt: row.3)
            try await connection.recordStarted(run, trigger: row.4)
            return run
        }
    }

    static let claimLockKey: Int64 = 0x7472_6963

    func activeRun(integrationID: UUID) async throws -> UUID? {
        try await read { connection in
            try await connection.rows(
                "SELECT id FROM sync_runs WHERE integration_id = \(integrationID) AND status IN ('queued', 'running')", as: UUID.self
            ).first
        }
    }

    /// Extends the lease; nil when the lease is no longer ours, else whether cancel was asked for.
    func heartbeat(runID: UUID, owner: String, leaseSeconds: Int) async throws -> Bool? {
        try await read { connection in
            try await connection.rows(
                """
                UPDATE sync_runs SET lease_expires_at = now() + interval '1 second' * \(leaseSeconds)
                WHERE id = \(runID) AND lease_owner = \(owner) AND status = 'running'
                RETURNING cancel_requested
                """, as: Bool.self
            ).first
        }
    }

    /// Runs whose worker stopped renewing the lease.
    func expiredRuns(limit: Int) async throws -> [(id: UUID, owner: String)] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT id, coalesce(lease_owner, '') FROM sync_runs
                WHERE status = 'running' AND lease_expires_at < now()
                ORDER BY lease_expires_at LIMIT \(limit)
                """, as: UUID.self, String.self
            ).map { (id: $0.0, owner: $0.1) }
        }
    }

    func setTaskPID(runID: UUID, owner: String, pid: Int32) async throws {
        try await read { connection in
            _ = try await connection.query(
                "UPDATE sync_runs SET task_pid = \(Int(pid)) WHERE id = \(runID) AND lease_owner = \(owner)")
        }
    }
}

/// A run is already queued or running for the integration.
struct ActiveRunError: Error, Sendable {
    var runID: UUID?
}

extension StoreConnection {
    /// `sync.started`, in the transaction of the claim.
    func recordStarted(_ run: ClaimedRun, trigger: String) async throws {
        try await appendActivity(
            ActivityDraft(
                tenantID: run.tenantID, actor: .system, action: "sync.started", integrationID: run.integrationID,
                details: ["run_id": .string(run.id.lowercased), "attempt": .number(Double(run.attempt)), "trigger": .string(trigger)]))
    }

    func insertRun(
        tenantID: UUID, integrationID: UUID, provider: String, trigger: RunTrigger, streams: [String], fullResync: Bool,
        maxAttempts: Int
    ) async throws -> SyncRun? {
        try await runs(
            """
            WITH inserted AS (
                INSERT INTO sync_runs (id, tenant_id, integration_id, provider, trigger, status, streams, full_resync, max_attempts)
                VALUES (\(UUID()), \(tenantID), \(integrationID), \(provider), \(trigger.rawValue), 'queued', \(streams),
                        \(fullResync), \(maxAttempts))
                ON CONFLICT (integration_id) WHERE status IN ('queued', 'running') DO NOTHING
                RETURNING *
            )
            SELECT \(unescaped: Store.runColumns) FROM inserted r
            """
        ).first?.0
    }

    func runs(_ query: PostgresQuery) async throws -> [(SyncRun, Int64)] {
        try await rows(
            query,
            as: UUID.self, UUID.self, UUID.self, String.self, String.self, [String].self, Bool.self, Int.self, Date.self,
            Date?.self, Date?.self, String.self, Int64.self, String?.self, String?.self, Int64.self
        ).map { row in
            let stats = (try? JSONDecoder().decode([String: StreamStats].self, from: Data(row.11.utf8))) ?? [:]
            let error = row.13.map { RunError(code: $0, message: row.14 ?? "") }
            let run = SyncRun(
                id: row.0, tenantID: row.1, integrationID: row.2, trigger: RunTrigger(rawValue: row.3) ?? .manual,
                status: RunStatus(rawValue: row.4) ?? .failed, streamNames: row.5, fullResync: row.6, attempt: row.7,
                queuedAt: row.8, startedAt: row.9, finishedAt: row.10, streams: stats, recordsTotal: row.12, error: error)
            return (run, row.15)
        }
    }
}
