import AsyncHTTPClient
import Configuration
import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import Tributary
@testable import TributaryConnectors

@Suite("Chaos: the database restarted under the API and the runs")
struct PostgresRestartTests {
    static let integrations = 4
    static let perIntegration = 6000

    /// What the API answered while the load ran: each status seen, and every answer that was
    /// neither a 200 nor a problem+json 503 with `Retry-After`.
    final class Answers: Sendable {
        private let state = Mutex<(statuses: [Int: Int], wrong: [String])>(([:], []))

        func note(_ status: Int, contentType: String?, retryAfter: String?) {
            state.withLock { state in
                state.statuses[status, default: 0] += 1
                let fine = status == 200 || (status == 503 && contentType == "application/problem+json" && retryAfter != nil)
                if !fine, state.wrong.count < 20 { state.wrong.append("\(status) \(contentType ?? "-") \(retryAfter ?? "-")") }
            }
        }

        func count(_ status: Int) -> Int { state.withLock { $0.statuses[status, default: 0] } }
        var summary: (statuses: [Int: Int], wrong: [String]) { state.withLock { $0 } }

        private let stopped = Mutex(false)
        var isStopped: Bool { stopped.withLock { $0 } }
        func stop() { stopped.withLock { $0 = true } }
    }

    @Test(
        "the database stopped twice (fast, then immediate) while runs write and the API is under load: the API answers 503 meanwhile and recovers; every run ends succeeded; each dataset equals its source; SIGTERM then stops the server"
    )
    func restarts() async throws {
        let cluster = try await PrivateCluster.start()
        do {
            try await Self.scenario(cluster)
            await cluster.remove()
        } catch {
            await cluster.remove()
            throw error
        }
    }

    static func scenario(_ cluster: PrivateCluster) async throws {
        let database = try await cluster.createDatabase("chaos")
        // Enough attempts that two outages cannot exhaust a run's.
        let (tenant, key, ids) = try await TestApp.run(extra: ["tributary.max.attempts": "20"], database: database) { client in
            let tenant = try await client.createTenant()
            let key = try await client.createKey(tenant: tenant).key
            var ids: [String] = []
            for _ in 0..<Self.integrations {
                // 60 batches of 100, 150 ms apart: some 9 s of writing each, across both outages.
                let config: [String: JSON] = ["records_per_run": .int(Int64(Self.perIntegration)), "batch_size": 100, "batch_delay_ms": 150]
                ids.append(try await SyncTests.createDemo(client, tenant: tenant, config: config, streams: ["contacts"]))
            }
            return (tenant, key, ids)
        }
        let settings = [
            "TRIBUTARY_LEASE_SECONDS": "5", "TRIBUTARY_POLL_INTERVAL_MS": "50", "TRIBUTARY_SCHEDULER_INTERVAL_MS": "200",
            "TRIBUTARY_RETRY_BASE_MS": "200", "TRIBUTARY_RETRY_MAX_MS": "2000", "TRIBUTARY_API_RATE_LIMIT": "off",
        ]
        let (server, port, ready) = try await ChildProcess.startServer(database, worker: true, logLevel: "warning", extra: settings)
        guard ready else {
            server.terminate()
            throw TestSetupError("the server did not start: \(await server.finish().output)")
        }
        defer { server.terminate() }

        let url = "http://127.0.0.1:\(port)/v1/tenants/\(tenant)/integrations/\(ids[0])"
        let answers = Answers()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The load: eight clients asking for one integration, one after another, all along.
            for _ in 0..<8 {
                group.addTask {
                    while !answers.isStopped && !Task.isCancelled {
                        var request = HTTPClientRequest(url: url)
                        request.headers.add(name: "Authorization", value: "Bearer \(key)")
                        do {
                            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            answers.note(
                                Int(response.status.code),
                                contentType: response.headers.first(name: "Content-Type"),
                                retryAfter: response.headers.first(name: "Retry-After")
                            )
                        } catch {
                            answers.note(0, contentType: "\(error)", retryAfter: nil)
                        }
                    }
                }
            }
            for mode in ["fast", "immediate"] {
                // Runs are writing when the database goes.
                let written = try await database.rows(PostgresQueryText("SELECT count(*)::int FROM records"), as: Int.self).first ?? 0
                try await WorkerTests.waitUntil(timeout: .seconds(120), "records written before the \(mode) stop") {
                    try await database.rows(PostgresQueryText("SELECT count(*)::int FROM records"), as: Int.self).first ?? 0 > written + 500
                }
                let unavailable = answers.count(503)
                try await cluster.stop(mode)
                try await WorkerTests.waitUntil(timeout: .seconds(30), "503s while the database is down (\(mode))") {
                    answers.count(503) > unavailable + 10
                }
                try await cluster.start()
                let served = answers.count(200)
                try await WorkerTests.waitUntil(timeout: .seconds(60), "the API's recovery after the \(mode) stop") {
                    answers.count(200) > served + 10
                }
            }
            try await WorkerTests.waitUntil(timeout: .seconds(240), "every run's end") {
                let open = try await database.rows(
                    PostgresQueryText("SELECT count(*)::int FROM sync_runs WHERE status IN ('queued', 'running')"),
                    as: Int.self
                )
                return open == [0]
            }
            answers.stop()
            try await group.waitForAll()
        }
        #expect(server.isRunning, "the server lived through both outages")
        // Nothing is left waiting on a connection of before the outages: SIGTERM stops it promptly.
        server.terminate()
        try await WorkerTests.waitUntil(timeout: .seconds(20), "the server's exit on SIGTERM after the outages") { !server.isRunning }
        let (statuses, wrong) = answers.summary
        #expect(wrong.isEmpty, "answers other than 200 or a problem+json 503 with Retry-After: \(wrong); all: \(statuses)")

        let runs = try await database.rows(PostgresQueryText("SELECT status || ' ' || attempt FROM sync_runs"), as: String.self)
        #expect(runs.count == Self.integrations)
        #expect(runs.allSatisfy { $0.hasPrefix("succeeded ") }, "\(runs)")
        let expected = Set((0..<Self.perIntegration).map { DemoGenerator.contact(run: 1, index: $0, pool: 1_000_000, seed: 1).id })
        for id in ids {
            let stored = try await database.rows(
                PostgresQueryText("SELECT record_id FROM records WHERE integration_id = '\(id)'"),
                as: String.self
            )
            #expect(stored.count == Self.perIntegration, "integration \(id): no record lost, none twice")
            #expect(Set(stored) == expected, "integration \(id)")
        }
        let sample = DemoGenerator.contact(run: 1, index: 4321, pool: 1_000_000, seed: 1)
        let data = try await database.rows(
            PostgresQueryText("SELECT data::text FROM records WHERE record_id = '\(sample.id)' AND integration_id = '\(ids[0])'"),
            as: String.self
        )
        #expect(try data.map { try JSON(parsing: $0) } == [try JSON(parsing: sample.json)])
    }
}
