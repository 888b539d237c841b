import Foundation
import PostgresNIO

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
    /// Claims the next run within the limits: a run of a tenant with the fewest running runs first,
    /// then the oldest. Claims are serialized by a transaction advisory lock, so that the running
    /// counts they read are true across every worker (and no row lock is needed to pick a run).
    ///
    /// Its cost follows what runs, not what waits: the running runs are counted once (a few hashed
    /// rows); a tenant with none running gets its oldest queued run from the queue index in order,
    /// skipping only the runs of busy tenants and full providers; each busy tenant under its limit
    /// gets its own oldest from the per-tenant index (`migrations/0008`, `bench/claim-run`).
    func claimRun(owner: String, leaseSeconds: Int, limits: ClaimLimits) async throws -> ClaimedRun? {
        try await withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.claimLockKey))")
            let claimed = try await connection.rows(
                """
                WITH running AS (
                    SELECT tenant_id, provider, integration_id FROM sync_runs WHERE status = 'running'
                ), blocked_integrations AS (
                    -- Integrations sharing a provider account with a running run: computed once, from
                    -- the few running runs, through the fingerprint index (migrations/0011).
                    SELECT other.integration_id FROM running r
                    JOIN credentials mine ON mine.integration_id = r.integration_id
                    JOIN credentials other ON other.fingerprint = mine.fingerprint
                        AND other.bound_origin IS NOT DISTINCT FROM mine.bound_origin
                    JOIN integrations i ON i.id = other.integration_id AND i.provider = r.provider
                ), busy_tenants AS (
                    SELECT tenant_id, count(*) AS n_running FROM running GROUP BY tenant_id
                ), full_providers AS (
                    SELECT provider FROM running GROUP BY provider HAVING count(*) >= \(limits.perProvider)
                ), idle_tenant_run AS (
                    SELECT r.id, 0::bigint AS n_running, r.not_before, r.queued_at FROM sync_runs r
                    WHERE r.status = 'queued' AND r.not_before <= now()
                      AND r.tenant_id NOT IN (SELECT tenant_id FROM busy_tenants)
                      AND r.provider NOT IN (SELECT provider FROM full_providers)
                      AND r.integration_id NOT IN (SELECT integration_id FROM blocked_integrations)
                    ORDER BY r.not_before, r.queued_at
                    LIMIT 1
                ), busy_tenant_run AS (
                    SELECT oldest.id, t.n_running, oldest.not_before, oldest.queued_at FROM busy_tenants t
                    CROSS JOIN LATERAL (
                        SELECT r.id, r.not_before, r.queued_at FROM sync_runs r
                        WHERE r.tenant_id = t.tenant_id AND r.status = 'queued' AND r.not_before <= now()
                          AND r.provider NOT IN (SELECT provider FROM full_providers)
                          AND r.integration_id NOT IN (SELECT integration_id FROM blocked_integrations)
                        ORDER BY r.not_before, r.queued_at
                        LIMIT 1
                    ) oldest
                    -- Only when no idle tenant has a run: a busy tenant's would come second anyway.
                    WHERE t.n_running < \(limits.perTenant) AND NOT EXISTS (SELECT 1 FROM idle_tenant_run)
                ), candidate AS (
                    SELECT id FROM (SELECT * FROM idle_tenant_run UNION ALL SELECT * FROM busy_tenant_run) c
                    ORDER BY n_running, not_before, queued_at
                    LIMIT 1
                )
                UPDATE sync_runs r SET status = 'running', lease_owner = \(owner),
                    lease_expires_at = now() + interval '1 second' * \(leaseSeconds),
                    started_at = coalesce(r.started_at, now()), task_pid = NULL
                FROM candidate WHERE r.id = candidate.id AND r.status = 'queued'
                RETURNING r.id, r.tenant_id, r.integration_id, r.attempt, r.trigger
                """,
                as: UUID.self,
                UUID.self,
                UUID.self,
                Int.self,
                String.self
            )
            guard let row = claimed.first else { return nil }
            let run = ClaimedRun(id: row.0, tenantID: row.1, integrationID: row.2, attempt: row.3)
            try await connection.recordStarted(run, trigger: row.4)
            return run
        }
    }

    static let claimLockKey: Int64 = 0x7472_6963

    /// Claims one given queued run, for `run-task` started by hand (benchmarks, debugging).
    func claimQueuedRun(id: UUID, owner: String, leaseSeconds: Int) async throws -> ClaimedRun? {
        try await withTransaction { connection in
            let claimed = try await connection.rows(
                """
                UPDATE sync_runs SET status = 'running', lease_owner = \(owner), started_at = coalesce(started_at, now()),
                    lease_expires_at = now() + interval '1 second' * \(leaseSeconds)
                WHERE id = \(id) AND status = 'queued'
                RETURNING tenant_id, integration_id, attempt, trigger
                """,
                as: UUID.self,
                UUID.self,
                Int.self,
                String.self
            )
            guard let row = claimed.first else { return nil }
            let run = ClaimedRun(id: id, tenantID: row.0, integrationID: row.1, attempt: row.2)
            try await connection.recordStarted(run, trigger: row.3)
            return run
        }
    }

    /// The run as its current owner holds it.
    func claimedRun(id: UUID, owner: String) async throws -> ClaimedRun? {
        try await withConnection { connection in
            try await connection.rows(
                "SELECT tenant_id, integration_id, attempt FROM sync_runs WHERE id = \(id) AND lease_owner = \(owner) AND status = 'running'",
                as: UUID.self,
                UUID.self,
                Int.self
            ).first.map { ClaimedRun(id: id, tenantID: $0.0, integrationID: $0.1, attempt: $0.2) }
        }
    }

    /// Extends the lease; nil when the lease is no longer ours, else whether cancel was asked for.
    func heartbeat(runID: UUID, owner: String, leaseSeconds: Int) async throws -> Bool? {
        try await withConnection { connection in
            try await connection.rows(
                """
                UPDATE sync_runs SET lease_expires_at = now() + interval '1 second' * \(leaseSeconds)
                WHERE id = \(runID) AND lease_owner = \(owner) AND status = 'running'
                RETURNING cancel_requested
                """,
                as: Bool.self
            ).first
        }
    }

    /// Runs whose worker stopped renewing the lease.
    func expiredRuns(limit: Int) async throws -> [(id: UUID, owner: String)] {
        try await withConnection { connection in
            try await connection.rows(
                """
                SELECT id, coalesce(lease_owner, '') FROM sync_runs
                WHERE status = 'running' AND lease_expires_at < now()
                ORDER BY lease_expires_at LIMIT \(limit)
                """,
                as: UUID.self,
                String.self
            ).map { (id: $0.0, owner: $0.1) }
        }
    }

    func setTaskPID(runID: UUID, owner: String, pid: Int32) async throws {
        try await withConnection { connection in
            _ = try await connection.query(
                "UPDATE sync_runs SET task_pid = \(Int(pid)) WHERE id = \(runID) AND lease_owner = \(owner)"
            )
        }
    }
}

extension StoreConnection {
    /// `sync.started`, in the transaction of the claim.
    func recordStarted(_ run: ClaimedRun, trigger: String) async throws {
        try await appendActivity(
            ActivityDraft(
                tenantID: run.tenantID,
                actor: .system,
                action: .syncStarted,
                integrationID: run.integrationID,
                details: ["run_id": .string(run.id.lowercased), "attempt": .number(Double(run.attempt)), "trigger": .string(trigger)]
            )
        )
    }
}
