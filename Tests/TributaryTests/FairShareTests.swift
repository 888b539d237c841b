import Foundation
import PostgresNIO
import Testing

@testable import Tributary

/// The worker shares its slots: with slots to spare and a tenant's runs waiting, no tenant runs more
/// than `TRIBUTARY_MAX_RUNS_PER_TENANT` at once across all workers, and a tenant that queues later is
/// not made to wait behind a flood.
@Suite("Fair shares across worker processes")
struct FairShareTests {
    @Test("two workers with 8 slots: a flooding tenant never holds more than 2 running runs; a quiet tenant gets its turn at once")
    func floodAgainstQuiet() async throws {
        let database = try await TestDatabase.create()
        // About 1.5 s of work each: long enough for the flood to still be queued when the quiet tenant comes.
        let slow: [String: JSON] = ["records_per_run": 30, "batch_size": 1, "batch_delay_ms": 50]
        let flood = try await WorkerTests.seed(database, tenants: 1, perTenant: 12, config: slow)
        let quiet = try await WorkerTests.seed(database, tenants: 1, perTenant: 3, config: slow)
        let environment = WorkerTests.workerEnvironment(
            database,
            extra: ["TRIBUTARY_WORKER_CONCURRENCY": "4", "TRIBUTARY_MAX_RUNS_PER_TENANT": "2", "TRIBUTARY_MAX_RUNS_PER_PROVIDER": "100"]
        )
        var workers: [ChildProcess] = []
        for _ in 0..<2 { workers.append(try await ChildProcess.start(["worker"], environment: environment)) }

        var mostRunning = 0
        var quietStartedWhileFloodWaited = false
        try await WorkerTests.waitUntil(timeout: .seconds(180)) {
            let rows = try await database.rows(
                PostgresQueryText(
                    """
                    SELECT integration_id::text || ':' || status FROM sync_runs
                    """
                ),
                as: String.self
            )
            let runs = rows.map { $0.split(separator: ":").map(String.init) }
            let running = runs.filter { $0.last == "running" }.map { $0[0] }
            let queued = runs.filter { $0.last == "queued" }.map { $0[0] }
            mostRunning = max(mostRunning, running.filter(flood.contains).count, running.filter(quiet.contains).count)
            if running.contains(where: quiet.contains) && queued.contains(where: flood.contains) { quietStartedWhileFloodWaited = true }
            return runs.count == 15 && runs.allSatisfy { $0.last == "succeeded" }
        }
        for worker in workers {
            kill(worker.processIdentifier, SIGTERM)
            _ = await worker.finish()
        }
        #expect(mostRunning == 2)
        #expect(quietStartedWhileFloodWaited)
        // Every run was claimed once, within the limit, by one of the two workers.
        #expect(try await database.rows(PostgresQueryText("SELECT max(attempt) FROM sync_runs"), as: Int.self) == [1])
    }
}
