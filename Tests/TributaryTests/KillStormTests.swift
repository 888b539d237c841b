import Configuration
import Foundation
import PostgresNIO
import Testing

@testable import Tributary
@testable import TributaryConnectors

@Suite("Chaos: run-tasks killed again and again through one large historical sync")
struct KillStormTests {
    static let total = 50_000
    static let kills = 50

    @Test("50 SIGKILLs at random instants of a 50,000-record initial sync: it ends once, with exactly the source's records, and the counts add up")
    func fiftyKills() async throws {
        // Retries at once (1 ms, at most 50 ms apart), and enough attempts for every kill.
        let settings: [AbsoluteConfigKey: ConfigValue] = [
            "tributary.retry.base.ms": "1",
            "tributary.retry.max.ms": "50",
            "tributary.max.attempts": "100",
        ]
        try await TestApp.run(extra: settings, worker: true) { client in
            // 500 batches of 100, 50 ms apart: at least 25 s of reading, longer than the kills take
            // (each lands 0–800 ms after its run-task appears).
            let (tenant, id) = try await SyncTests.demoTenant(
                client,
                config: ["records_per_run": .int(Int64(Self.total)), "batch_size": 100, "batch_delay_ms": 50],
                streams: ["contacts"]
            )
            var killed: Set<Int32> = []
            var storedAtKill: [Int] = []
            while killed.count < Self.kills {
                guard let (pid, stored) = try await Self.nextTask(client, integration: id, notAmong: killed) else {
                    Issue.record("the run ended after \(killed.count) kills; stored at each: \(storedAtKill)")
                    break
                }
                // Seeded (DemoGenerator's SplitMix64 over the kill's number), so a failing storm replays.
                try await Task.sleep(for: .milliseconds(Int(DemoGenerator.mix(20_261_203 &+ UInt64(killed.count)) % 800)))
                guard kill(pid, SIGKILL) == 0 else {
                    Issue.record("run-task \(pid) was gone before kill \(killed.count + 1); stored at each: \(storedAtKill)")
                    break
                }
                killed.insert(pid)
                storedAtKill.append(stored)
            }
            let run = try await client.waitForRun(tenant: tenant, integration: id, timeout: .seconds(300))
            #expect(run.status == "succeeded", "\(run.error?.message ?? "")")
            #expect(run.attempt > Self.kills, "every kill cost an attempt")
            #expect(run.recordsTotal == Self.total)
            // The kills fell all through the sync, not only before its first write.
            #expect(Set(storedAtKill.filter { $0 > 0 && $0 < Self.total }).count >= 5, "\(storedAtKill)")

            let database = client.database
            #expect(try await database.rows(PostgresQueryText("SELECT count(*)::int FROM sync_runs"), as: Int.self) == [1])
            let rows = try await database.rows(
                PostgresQueryText("SELECT record_id || '|' || data::text FROM records WHERE integration_id = '\(id)'"),
                as: String.self
            )
            let expected = (0..<Self.total).map { DemoGenerator.contact(run: 1, index: $0, pool: 1_000_000, seed: 1) }
            #expect(rows.count == Self.total, "no record lost, none twice")
            var stored: [String: String] = [:]
            for row in rows {
                let parts = row.split(separator: "|", maxSplits: 1)
                if parts.count == 2 { stored[String(parts[0])] = String(parts[1]) }
            }
            #expect(Set(stored.keys) == Set(expected.map(\.id)))
            for index in stride(from: 0, to: Self.total, by: 997) {
                let record = expected[index]
                #expect(try JSON(parsing: stored[record.id] ?? "{}") == JSON(parsing: record.json), "record \(record.id)")
            }
            // The run's summary counts each record once over all its attempts: a batch a kill cut
            // short was neither stored nor counted, and is read again by the next attempt.
            let stats = try #require(run.streams["contacts"])
            #expect(stats.recordsRead == Self.total, "\(run.streams)")
            #expect(stats.recordsUpserted == Self.total, "\(run.streams)")
            let succeeded = "SELECT count(*)::int FROM activity WHERE action = 'sync.succeeded'"
            #expect(try await database.rows(PostgresQueryText(succeeded), as: Int.self) == [1])
        }
    }

    /// The next run-task of the integration's run, one not killed yet, and the records stored when
    /// it was seen; nil once the run has ended.
    static func nextTask(_ client: TestClient, integration: String, notAmong killed: Set<Int32>) async throws -> (Int32, Int)? {
        let deadline = ContinuousClock.now + .seconds(90)
        var seen = "nothing"
        while ContinuousClock.now < deadline {
            let run = try await SyncTests.newestRun(client, integration: integration)
            seen = run.map { "\($0)" } ?? "no run"
            if let run {
                if run.status == "succeeded" || run.status == "failed" || run.status == "cancelled" { return nil }
                if run.status == "running", run.pid > 0, !killed.contains(run.pid) { return (run.pid, run.stored) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("no new run-task appeared (last seen: \(seen))")
    }
}
