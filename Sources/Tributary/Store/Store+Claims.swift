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
    /// then the oldest. `claimRuns` with one owner.
    func claimRun(owner: String, leaseSeconds: Int, limits: ClaimLimits) async throws -> ClaimedRun? {
        try await claimRuns(owners: [owner], leaseSeconds: leaseSeconds, limits: limits).first
    }

    /// Claims up to one run per owner token (a worker's free slots), each picked by the rule of
    /// `ClaimStatement` as if claimed alone, one after another: the second sees the first running.
    /// Claims are serialized by a transaction advisory lock, so that the running counts they read are
    /// true across every worker (and no row lock is needed to pick a run); the lock is taken once for
    /// the whole batch, and each claim is one prepared statement (planned once per connection: its
    /// planning cost more than its execution, `bench/queue`).
    func claimRuns(owners: [String], leaseSeconds: Int, limits: ClaimLimits) async throws -> [ClaimedRun] {
        guard !owners.isEmpty else { return [] }
        return try await withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.claimLockKey))")
            var claimed: [ClaimedRun] = []
            var started: [ActivityDraft] = []
            for owner in owners {
                let statement = ClaimStatement(owner: owner, leaseSeconds: leaseSeconds, limits: limits)
                guard let row = try await connection.rows(statement).first else { break }
                let run = ClaimedRun(id: row.id, tenantID: row.tenantID, integrationID: row.integrationID, attempt: row.attempt)
                claimed.append(run)
                started.append(.started(run, trigger: row.trigger))
            }
            try await connection.appendActivity(started)
            return claimed
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
        try await appendActivity(.started(run, trigger: trigger))
    }
}

extension ActivityDraft {
    /// `sync.started`: a run was claimed.
    static func started(_ run: ClaimedRun, trigger: String) -> ActivityDraft {
        ActivityDraft(
            tenantID: run.tenantID,
            actor: .system,
            action: .syncStarted,
            integrationID: run.integrationID,
            details: ["run_id": .string(run.id.lowercased), "attempt": .number(Double(run.attempt)), "trigger": .string(trigger)]
        )
    }
}
