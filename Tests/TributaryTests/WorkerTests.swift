import Foundation
import PostgresNIO
import Testing

@testable import Tributary

@Suite("Workers as separate processes: leases, reclaiming, exactly-once, fairness")
struct WorkerTests {
    /// A worker's environment, with the fast settings of `TestApp.workerSettings` (and no admin token: workers need none).
    static func workerEnvironment(_ database: TestDatabase, extra: [String: String] = [:]) -> [String: String] {
        let fast = [
            "TRIBUTARY_LEASE_SECONDS": "3",
            "TRIBUTARY_POLL_INTERVAL_MS": "50",
            "TRIBUTARY_SCHEDULER_INTERVAL_MS": "200",
            "TRIBUTARY_RETRY_BASE_MS": "200",
        ]
        return ChildProcess.environment(database, adminToken: nil, extra: fast.merging(extra) { _, new in new })
    }

    /// Creates integrations through the API (no worker in this process), then returns.
    static func seed(_ database: TestDatabase, tenants: Int, perTenant: Int, config: [String: JSON]) async throws -> [String] {
        try await TestApp.run(database: database) { client in
            var ids: [String] = []
            for t in 0..<tenants {
                let tenant = try await client.createTenant("Tenant \(t)")
                for _ in 0..<perTenant {
                    ids.append(
                        try await client.createIntegration(
                            tenant: tenant,
                            IntegrationBody(provider: "demo", name: "D", streams: ["contacts"], config: config)
                        )
                    )
                }
            }
            return ids
        }
    }

    static func waitUntil(
        timeout: Duration = .seconds(120),
        _ what: String = "condition",
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestSetupError("\(what) not met within \(timeout)")
    }

    @Test("a worker killed with -9 loses its lease; another worker reclaims the run and finishes it")
    func reclaimFromDeadWorker() async throws {
        let database = try await TestDatabase.create()
        // Long enough (about 18 s of reading) that the run is still going when its worker dies, even
        // when a loaded machine sees the first records seconds late, and that the orphaned run-task,
        // which writes on until it sees its lease lapse (3 s), cannot finish the stream meanwhile: a
        // retry from a finished demo stream's checkpoint reads the demo's next run.
        let ids = try await Self.seed(database, tenants: 1, perTenant: 1, config: ["records_per_run": 3000, "batch_size": 50, "batch_delay_ms": 300])
        let first = try await ChildProcess.start(["worker"], environment: Self.workerEnvironment(database))
        try await Self.waitUntil {
            try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self) != [0]
        }
        let taskPID = try await database.rows(PostgresQueryText("SELECT task_pid FROM sync_runs WHERE status = 'running'"), as: Int.self).first
        kill(first.processIdentifier, SIGKILL)
        _ = await first.finish()
        // The orphaned run-task notices its supervisor is gone and stops.
        try await Self.waitUntil(timeout: .seconds(10)) { taskPID.map { kill(Int32($0), 0) != 0 } ?? true }

        let second = try await ChildProcess.start(["worker"], environment: Self.workerEnvironment(database))
        try await Self.waitUntil {
            try await database.rows(PostgresQueryText("SELECT status FROM sync_runs"), as: String.self) == ["succeeded"]
        }
        kill(second.processIdentifier, SIGTERM)
        let output = await second.finish()
        #expect(output.output.contains("reclaimed a run from a silent worker"))
        let run = try await database.rows(
            PostgresQueryText("SELECT attempt || ':' || status FROM sync_runs WHERE integration_id = '\(ids[0])'"),
            as: String.self
        )
        #expect(run == ["2:succeeded"])
        let stored = try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self)
        let stats = try await database.rows(PostgresQueryText("SELECT stream_stats::text FROM sync_runs"), as: String.self)
        #expect(stored == [3000], "\(stats)")
    }

    @Test(
        "a worker and its run-task frozen (SIGSTOP) past the lease: another worker reclaims the run; thawed, the frozen pair writes nothing more and the run ends once, exact"
    )
    func frozenWorkerIsFenced() async throws {
        let database = try await TestDatabase.create()
        let ids = try await Self.seed(database, tenants: 1, perTenant: 1, config: ["records_per_run": 3000, "batch_size": 50, "batch_delay_ms": 300])
        let first = try await ChildProcess.start(["worker"], environment: Self.workerEnvironment(database))
        try await Self.waitUntil(timeout: .seconds(120), "first records") {
            try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self) != [0]
        }
        let frozenTask = try #require(
            try await database.rows(PostgresQueryText("SELECT task_pid FROM sync_runs WHERE status = 'running'"), as: Int.self).first
        )
        // The host "disappears": the worker and its run-task stop at once, wherever they were.
        kill(first.processIdentifier, SIGSTOP)
        kill(Int32(frozenTask), SIGSTOP)
        let run = "SELECT attempt || ':' || status || ':' || coalesce(task_pid, 0) FROM sync_runs WHERE integration_id = '\(ids[0])'"

        let second = try await ChildProcess.start(["worker"], environment: Self.workerEnvironment(database))
        // The second worker has taken the run over (attempt 2, its own run-task) and writes.
        do {
            try await Self.waitUntil(timeout: .seconds(120), "the takeover") {
                // Attempt 2, or later if a loaded machine made the second worker miss its own lease.
                guard let state = try await database.rows(PostgresQueryText(run), as: String.self).first else { return false }
                let parts = state.split(separator: ":")
                return parts.count == 3 && (Int(parts[0]) ?? 0) >= 2 && parts[1] == "running" && parts[2] != "0"
                    && parts[2] != "\(frozenTask)"
            }
        } catch {
            let sessions = try await database.rows(
                PostgresQueryText(
                    """
                    SELECT pid || ' ' || coalesce(state, '') || ' ' || coalesce(wait_event_type || ':' || wait_event, '') || ' '
                           || coalesce(extract(epoch FROM now() - xact_start)::int::text, '-') || ' ' || left(query, 60)
                    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                    """
                ),
                as: String.self
            )
            let runs = try await database.rows(
                PostgresQueryText(
                    "SELECT attempt || ' ' || status || ' ' || coalesce(lease_owner, '-') || ' ' || coalesce(lease_expires_at::text, '-') || ' ' || coalesce(task_pid, 0) FROM sync_runs"
                ),
                as: String.self
            )
            Issue.record("\(error); runs \(runs); sessions \(sessions)")
            throw error
        }
        let before = try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self)
        try await Self.waitUntil(timeout: .seconds(120), "the takeover's writes") {
            try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self) != before
        }
        // The run-task thaws first and, its worker still frozen, nobody stops it but the fence
        // on its next write; then the worker, which finds its lease gone.
        kill(Int32(frozenTask), SIGCONT)
        try await Task.sleep(for: .seconds(3))
        kill(first.processIdentifier, SIGCONT)
        // Its run-task ends.
        try await Self.waitUntil(timeout: .seconds(30), "the thawed run-task's end") { kill(Int32(frozenTask), 0) != 0 }
        try await Self.waitUntil(timeout: .seconds(120), "the run's success") {
            try await database.rows(PostgresQueryText("SELECT status FROM sync_runs"), as: String.self) == ["succeeded"]
        }
        for worker in [first, second] { kill(worker.processIdentifier, SIGTERM) }
        _ = await first.finish()
        _ = await second.finish()

        let final = try await database.rows(PostgresQueryText(run), as: String.self).first?.split(separator: ":")
        #expect(final?.count == 3 && (Int(final?[0] ?? "") ?? 0) >= 2 && final?[1] == "succeeded", "\(final ?? [])")
        #expect(try await database.rows(PostgresQueryText("SELECT count(*) FROM sync_runs"), as: Int.self) == [1])
        let stats = try await database.rows(PostgresQueryText("SELECT stream_stats::text FROM sync_runs"), as: String.self)
        #expect(try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self) == [3000], "\(stats)")
        // The counts add up: every record read once over the two attempts, the frozen pair's
        // unwritten batch not among them.
        let read = "SELECT (stream_stats->'contacts'->>'records_read')::int FROM sync_runs"
        #expect(try await database.rows(PostgresQueryText(read), as: Int.self) == [3000], "\(stats)")
        // The checkpoint is the finished stream's: no late write of the frozen pair put an older one back.
        let cursor = try await database.rows(PostgresQueryText("SELECT cursor::text FROM sync_state"), as: String.self)
        #expect(try await database.rows(PostgresQueryText("SELECT cursor->>'run' FROM sync_state"), as: String.self) == ["2"], "\(cursor)")
        #expect(
            try await database.rows(PostgresQueryText("SELECT count(*) FROM activity WHERE action = 'sync.succeeded'"), as: Int.self) == [1]
        )
    }

    @Test("a worker told to stop while it waits out a one-minute poll and a ten-minute scheduler interval stops at once")
    func stopsWithoutWaitingOutIntervals() async throws {
        let database = try await TestDatabase.create()
        _ = try await Self.seed(database, tenants: 1, perTenant: 1, config: ["records_per_run": 5])
        let environment = Self.workerEnvironment(
            database,
            extra: ["TRIBUTARY_POLL_INTERVAL_MS": "60000", "TRIBUTARY_SCHEDULER_INTERVAL_MS": "600000"]
        )
        let worker = try await ChildProcess.start(["worker"], environment: environment)
        // Its first poll runs the queued run; then both loops sleep.
        try await Self.waitUntil(timeout: .seconds(120), "the run's end") {
            try await database.rows(PostgresQueryText("SELECT status FROM sync_runs"), as: String.self) == ["succeeded"]
        }
        let stopping = ContinuousClock.now
        kill(worker.processIdentifier, SIGTERM)
        let ended = await worker.finish()
        #expect(ended.status == 0, "\(ended.output)")
        #expect(ended.output.contains("worker stopped"))
        // Not a minute (the poll) nor ten (the scheduler): the margin is a loaded machine's.
        #expect(ContinuousClock.now - stopping < .seconds(30))
    }

    @Test("three workers and 300 queued runs: each run executed exactly once")
    func threeWorkers() async throws {
        let database = try await TestDatabase.create()
        _ = try await Self.seed(database, tenants: 10, perTenant: 30, config: ["records_per_run": 5])
        let environment = Self.workerEnvironment(database, extra: ["TRIBUTARY_WORKER_CONCURRENCY": "4", "TRIBUTARY_MAX_RUNS_PER_TENANT": "4"])
        var workers: [ChildProcess] = []
        for _ in 0..<3 { workers.append(try await ChildProcess.start(["worker"], environment: environment)) }
        try await Self.waitUntil(timeout: .seconds(600)) {
            try await database.rows(PostgresQueryText("SELECT count(*) FROM sync_runs WHERE status = 'succeeded'"), as: Int.self) == [300]
        }
        var outputs: [String] = []
        for worker in workers {
            kill(worker.processIdentifier, SIGTERM)
            outputs.append(await worker.finish().output)
        }
        #expect(try await database.rows(PostgresQueryText("SELECT count(*) FROM sync_runs"), as: Int.self) == [300])
        #expect(try await database.rows(PostgresQueryText("SELECT max(attempt) FROM sync_runs"), as: Int.self) == [1])
        #expect(try await database.rows(PostgresQueryText("SELECT count(*) FROM activity WHERE action = 'sync.started'"), as: Int.self) == [300])
        #expect(try await database.rows(PostgresQueryText("SELECT count(*) FROM records"), as: Int.self) == [1500])
        // Every worker took part.
        #expect(outputs.allSatisfy { $0.contains("run-task started") })
    }

    @Test("per-tenant limits: a tenant flooding the queue cannot starve another")
    func fairness() async throws {
        try await Self.withFloodAndQuiet { store, _, flood, quiet in
            let limits = ClaimLimits(perTenant: 2, perProvider: 100)
            var claimed: [String] = []
            for _ in 0..<4 {
                let run = try await store.claimRun(owner: "test", leaseSeconds: 30, limits: limits)
                claimed.append(try #require(run).integrationID.lowercased)
            }
            #expect(claimed.filter(flood.contains).count == 2)
            #expect(claimed.filter(quiet.contains).count == 2)
            // Both tenants are at their limit: nothing more is claimable.
            #expect(try await store.claimRun(owner: "test", leaseSeconds: 30, limits: limits) == nil)
        }
    }

    @Test("a batch claim picks each run as a claim alone would: the limits hold inside the batch, each run under its own token")
    func batchClaim() async throws {
        try await Self.withFloodAndQuiet { store, database, flood, quiet in
            let limits = ClaimLimits(perTenant: 2, perProvider: 100)
            let tokens = (1...5).map { "batch#\($0)" }
            let claimed = try await store.claimRuns(owners: tokens, leaseSeconds: 30, limits: limits)
            // Four fit (two of each tenant, the quiet one's second before the flood's second);
            // the fifth slot finds nothing.
            #expect(claimed.map(\.integrationID.lowercased).filter(flood.contains).count == 2)
            #expect(claimed.map(\.integrationID.lowercased).filter(quiet.contains).count == 2)
            #expect(claimed.count == 4)
            for (run, token) in zip(claimed, tokens) {
                let owner = try await database.rows("SELECT lease_owner FROM sync_runs WHERE id = \(run.id)", as: String.self)
                #expect(owner == [token])
            }
            let started = try await database.rows("SELECT count(*) FROM activity WHERE action = 'sync.started'", as: Int.self)
            #expect(started == [4])
            #expect(try await store.claimRuns(owners: tokens, leaseSeconds: 30, limits: limits).isEmpty)
        }
    }

    /// A queue of 40 runs of one tenant, then 3 of another, and a Store on it.
    static func withFloodAndQuiet(
        _ body: @escaping @Sendable (Store, TestDatabase, _ flood: [String], _ quiet: [String]) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create()
        let flood = try await Self.seed(database, tenants: 1, perTenant: 40, config: [:])
        try await Task.sleep(for: .milliseconds(20))
        let quiet = try await Self.seed(database, tenants: 1, perTenant: 3, config: [:])
        try await TestApp.run(database: database) { client in
            try await TestServices.with(client.config, logger: client.logger) { services in
                try await body(services.store, database, flood, quiet)
            }
        }
    }
}
