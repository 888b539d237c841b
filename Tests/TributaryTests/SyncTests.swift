import Configuration
import Foundation
import HTTPTypes
import Testing

@testable import Tributary
@testable import TributaryConnectors

@Suite("Sync engine through the API, with real run-task processes")
struct SyncTests {
    /// A new tenant with one demo integration.
    static func demoTenant(
        _ client: TestClient,
        config: [String: JSON],
        streams: [String] = ["contacts", "events"]
    ) async throws -> (tenant: String, id: String) {
        let tenant = try await client.createTenant()
        return (tenant, try await createDemo(client, tenant: tenant, config: config, streams: streams))
    }

    static func createDemo(
        _ client: TestClient,
        tenant: String,
        config: [String: JSON],
        streams: [String] = ["contacts", "events"]
    ) async throws -> String {
        try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "Demo", streams: streams, config: config))
    }

    @Test("deleting a tenant deletes the records of each of its integrations, and no other tenant's")
    func tenantDeletionTakesItsRecords() async throws {
        try await TestApp.run(worker: true) { client in
            let config: [String: JSON] = ["records_per_run": 50, "batch_size": 50]
            let (acme, first) = try await Self.demoTenant(client, config: config)
            let second = try await Self.createDemo(client, tenant: acme, config: config)
            let (globex, theirs) = try await Self.demoTenant(client, config: config)
            for (tenant, id) in [(acme, first), (acme, second), (globex, theirs)] {
                #expect(try await client.waitForRun(tenant: tenant, integration: id).status == "succeeded")
            }
            let count = "SELECT count(*) FROM records WHERE tenant_id = "
            #expect(try await client.database.rows(PostgresQueryText(count + "'\(acme)'"), as: Int.self) == [200])
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)").status == .noContent)
            #expect(try await client.database.rows(PostgresQueryText(count + "'\(acme)'"), as: Int.self) == [0])
            #expect(try await client.database.rows(PostgresQueryText(count + "'\(globex)'"), as: Int.self) == [100])
            #expect(try await client.allRecords(tenant: globex, integration: theirs).records.count == 100)
        }
    }

    @Test("a new integration's historical sync runs at once, in a child process, and stores every record")
    func initialSync() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(client, config: ["records_per_run": 250, "batch_size": 100])
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run.status == "succeeded")
            #expect(run.trigger == "initial")
            #expect(run.attempt == 1)
            #expect(run.recordsTotal == 500)
            #expect(run.streams["contacts"]?.recordsRead == 250)
            #expect(run.streams["contacts"]?.recordsUpserted == 250)
            #expect(run.streams["events"]?.status == "succeeded")

            let (records, _) = try await client.allRecords(tenant: tenant, integration: id)
            #expect(records.count == 500)
            #expect(Set(records.map(\.id)).count == 500)
            let contacts = try await client.allRecords(tenant: tenant, integration: id, stream: "contacts").records
            #expect(contacts.count == 250)
            let first = try #require(contacts.first { $0.id == "c_0" })
            #expect(first.data["email"]?.string != nil)
            #expect(first.deleted == false)

            let integration = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").decode(IntegrationView.self)
            #expect(integration.lastSync?.status == "succeeded")
            #expect(integration.nextSyncAt != nil)
            let state = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/state").decode(StateView.self)
            #expect(state.streams["contacts"]?.cursor?["run"] == 2)
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(id)")
                .decode(ListOf<ActivityView>.self).data.map(\.action)
            #expect(actions == ["sync.succeeded", "sync.started", "integration.created"])
        }
    }

    @Test("incremental runs: the records cursor resumes with exactly what changed; unchanged records are not rewritten")
    func incrementalAndCursor() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 120, "contacts_pool": 150, "batch_size": 50],
                streams: ["contacts"]
            )
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let (firstRead, cursor) = try await client.allRecords(tenant: tenant, integration: id, limit: 7)
            #expect(firstRead.count == 120)
            #expect(Set(firstRead.map(\.id)).count == 120)

            // Run 2 walks on through the pool of 150: 120 contacts, some new, some changed.
            let (started, second) = try await client.syncAndWait(tenant: tenant, integration: id, SyncBody())
            #expect(started.status == .accepted)
            #expect(second.status == "succeeded")
            #expect(second.trigger == "manual")

            let expected = Set((0..<120).map { "c_\((7919 + $0) % 150)" })
            let (changed, next) = try await client.allRecords(tenant: tenant, integration: id, from: cursor, limit: 25)
            #expect(Set(changed.map(\.id)) == expected)
            #expect(changed.count == expected.count)
            let (nothing, _) = try await client.allRecords(tenant: tenant, integration: id, from: next)
            #expect(nothing.isEmpty)

            // A full resync reads run 1 again: the same data, so nothing is rewritten.
            let (_, third) = try await client.syncAndWait(tenant: tenant, integration: id, SyncBody(fullResync: true))
            let stats = try #require(third.streams["contacts"])
            #expect(stats.recordsRead == 120)
            #expect(third.fullResync == true)
            // Run 1's contacts changed in run 2 come back as they were; the rest are untouched.
            let rewritten = Set((0..<120).map { "c_\($0)" }).intersection(expected)
            #expect(stats.recordsUpserted == rewritten.count)
            let (afterResync, _) = try await client.allRecords(tenant: tenant, integration: id, from: next)
            #expect(Set(afterResync.map(\.id)) == rewritten)
        }
    }

    @Test("every stream's records in one feed: the integration's modification order, each once, paged at any size, resumable")
    func mergedFeed() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 90, "batch_size": 10],
                streams: ["contacts", "events", "lists"]
            )
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let order = "SELECT stream || '/' || record_id FROM records WHERE integration_id = '\(id)' ORDER BY seq"
            let stored = try await client.database.rows(PostgresQueryText(order), as: String.self)
            #expect(Set(stored.map { $0.prefix { $0 != "/" } }).count == 3, "three streams, written in turns")
            for limit in [1, 7, 200] {
                let (read, _) = try await client.allRecords(tenant: tenant, integration: id, limit: limit)
                #expect(read.map { "\($0.stream)/\($0.id)" } == stored, "pages of \(limit)")
            }
            // Resumed from a cursor mid-way: exactly the rest, in order.
            let (_, cursor) = try await client.allRecords(tenant: tenant, integration: id, limit: 200)
            let firstPage = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/records?limit=25").decode(ListOf<RecordView>.self)
            let (rest, _) = try await client.allRecords(tenant: tenant, integration: id, from: firstPage.nextCursor, limit: 11)
            #expect((firstPage.data + rest).map { "\($0.stream)/\($0.id)" } == stored)
            // A second run changes some records: they come after the cursor, once, in their new order.
            let last = try await client.database.rows(
                PostgresQueryText("SELECT max(seq) FROM records WHERE integration_id = '\(id)'"),
                as: Int64.self
            )
            _ = try await client.syncAndWait(tenant: tenant, integration: id, SyncBody())
            let (changed, _) = try await client.allRecords(tenant: tenant, integration: id, from: cursor, limit: 4)
            let after = try await client.database.rows(
                PostgresQueryText(
                    "SELECT stream || '/' || record_id FROM records WHERE integration_id = '\(id)' AND seq > \(last[0]) ORDER BY seq"
                ),
                as: String.self
            )
            #expect(!after.isEmpty)
            #expect(changed.map { "\($0.stream)/\($0.id)" } == after)
        }
    }

    @Test("a second run while one is queued or running answers 409 naming it; bad requests are refused")
    func conflictsAndValidation() async throws {
        try await TestApp.run { client in
            let (tenant, id) = try await Self.demoTenant(client, config: [:])
            let runs = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            let queued = try #require(try runs.decode(ListOf<RunView>.self).data.first)
            #expect(queued.status == "queued")
            let conflict = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            #expect(conflict.status == .conflict)
            #expect(try conflict.decode(ProblemView.self).runID == queued.id)
            let syncs = "/v1/tenants/\(tenant)/integrations/\(id)/syncs"
            #expect(try await client.send(.post, syncs, body: SyncBody(streams: ["nope"])).status == .unprocessableContent)
            #expect(try await client.send(.post, syncs, json: #"{"full_resync":"yes"}"#).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(UUID())").status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/records?stream=nope").status == .badRequest)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/records?cursor=zzz").status == .badRequest)

            // A queued run cancels at once.
            let cancelled = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(queued.id)/cancel")
            #expect(cancelled.status == .accepted)
            #expect(try cancelled.decode(RunView.self).status == "cancelled")
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").status == .accepted)

            let pendingID = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "keap", name: "K"))
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(pendingID)/syncs").status == .conflict)
        }
    }

    @Test("cancel stops the running child process")
    func cancelRunning() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 100_000, "batch_size": 10, "batch_delay_ms": 100],
                streams: ["contacts"]
            )
            let pid = try await Self.waitForTask(client, integration: id)
            let runs = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").decode(ListOf<RunView>.self)
            let runID = try #require(runs.data.first?.id)
            let cancel = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(runID)/cancel")
            #expect(cancel.status == .accepted)
            let run = try await client.waitForRun(tenant: tenant, integration: id, runID: runID)
            #expect(run.status == "cancelled")
            #expect(kill(pid, 0) != 0, "the run-task process is gone")
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=sync.cancelled").decode(ListOf<ActivityView>.self).data
            #expect(actions.count == 1)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(runID)/cancel").status == .accepted)
        }
    }

    @Test("kill -9 of a run-task mid-stream: the retried run ends with exactly the source's records")
    func killNine() async throws {
        try await TestApp.run(worker: true) { client in
            // Two streams of 3,000 read at once, 100 a batch, 400 ms apart: 12 s, a wide window for
            // polls that take seconds each on a loaded machine. Killed anywhere before its 6,000.
            let (tenant, id) = try await Self.demoTenant(client, config: ["records_per_run": 3000, "batch_size": 100, "batch_delay_ms": 400])
            let pid = try await Self.waitForTask(client, integration: id, minimumRecords: 300, maximumRecords: 5000)
            #expect(kill(pid, SIGKILL) == 0)
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run.status == "succeeded")
            #expect(run.attempt == 2)
            let rows = try await client.database.rows(
                PostgresQueryText("SELECT record_id || '|' || data::text FROM records WHERE stream = 'contacts'"),
                as: String.self
            )
            #expect(rows.count == 3000)
            let expected = (0..<3000).map { DemoGenerator.contact(run: 1, index: $0, pool: 1_000_000, seed: 1) }
            let stored = Dictionary(
                uniqueKeysWithValues: rows.map { row in
                    let parts = row.split(separator: "|", maxSplits: 1)
                    return (String(parts[0]), String(parts[1]))
                }
            )
            #expect(Set(stored.keys) == Set(expected.map(\.id)))
            for record in expected.prefix(50) {
                #expect(try JSON(parsing: stored[record.id] ?? "{}") == JSON(parsing: record.json))
            }
            #expect(try await client.database.rows(PostgresQueryText("SELECT count(*) FROM records WHERE stream = 'events'"), as: Int.self) == [3000])
        }
    }

    @Test("a full-refresh stream marks records missing from a complete run as deleted")
    func fullRefreshTombstones() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(client, config: ["lists_count": 10], streams: ["lists"])
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let (before, cursor) = try await client.allRecords(tenant: tenant, integration: id)
            #expect(before.count == 10)
            let patch = IntegrationBody(config: ["lists_count": 7])
            #expect(try await client.send(.patch, "/v1/tenants/\(tenant)/integrations/\(id)", body: patch).status == .ok)
            let (_, run) = try await client.syncAndWait(tenant: tenant, integration: id)
            let stats = try #require(run.streams["lists"])
            #expect(stats.recordsDeleted == 3)
            #expect(stats.recordsUpserted == 0)
            let (changed, _) = try await client.allRecords(tenant: tenant, integration: id, from: cursor)
            #expect(Set(changed.map(\.id)) == ["l_7", "l_8", "l_9"])
            #expect(changed.allSatisfy { $0.deleted == true })
        }
    }

    @Test("failing runs fail with the connector's message; three in a row mark the integration failing, a success recovers it")
    func failures() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 20, "batch_size": 5, "fail_on_run": 1],
                streams: ["contacts"]
            )
            let path = "/v1/tenants/\(tenant)/integrations/\(id)"
            let first = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(first.status == "failed")
            #expect(first.error?.code == "demo_failure")
            for _ in 0..<2 {
                _ = try await client.syncAndWait(tenant: tenant, integration: id)
            }
            #expect(try await client.send(.get, path).decode(IntegrationView.self).status == "failing")
            #expect(try await client.send(.patch, path, body: IntegrationBody(config: ["records_per_run": 20, "batch_size": 5])).status == .ok)
            let (_, recovered) = try await client.syncAndWait(tenant: tenant, integration: id)
            #expect(recovered.status == "succeeded")
            #expect(try await client.send(.get, path).decode(IntegrationView.self).status == "active")
            let failed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=sync.failed").decode(ListOf<ActivityView>.self).data
            #expect(failed.count == 3)
        }
    }

    @Test("state can be read and reset; the next run reads history again")
    func stateReset() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(client, config: ["records_per_run": 10])
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let path = "/v1/tenants/\(tenant)/integrations/\(id)/state"
            #expect(try await client.send(.get, path).decode(StateView.self).streams.count == 2)
            #expect(try await client.send(.delete, "\(path)?stream=nope").status == .badRequest)
            let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").decode(RunView.self)
            let busy = try await client.send(.delete, path)
            #expect(busy.status == .conflict || busy.status == .noContent)  // the run may already have ended
            if busy.status == .conflict { #expect(try busy.decode(ProblemView.self).runID == started.id) }
            _ = try await client.waitForRun(tenant: tenant, integration: id, runID: started.id)
            if busy.status == .noContent {
                // The run had ended (a loaded machine answers the POST late), so the reset took: the
                // state stays empty until the next run reads history again.
                #expect(try await client.send(.get, path).decode(StateView.self).streams.isEmpty)
                let (_, again) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(again.status == "succeeded")
            }
            #expect(try await client.send(.delete, "\(path)?stream=events").status == .noContent)
            #expect(try await client.send(.get, path).decode(StateView.self).streams.keys.sorted() == ["contacts"])
            #expect(try await client.send(.delete, path).status == .noContent)
            #expect(try await client.send(.get, path).decode(StateView.self).streams.isEmpty)
        }
    }

    @Test("a hung run-task is stopped at the wall-clock limit")
    func wallClockLimit() async throws {
        let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.run.timeout.seconds": "2", "tributary.max.attempts": "1"]
        try await TestApp.run(extra: extra, worker: true) { client in
            let (tenant, slow) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 1000, "batch_size": 1, "batch_delay_ms": 1000],
                streams: ["contacts"]
            )
            let run = try await client.waitForRun(tenant: tenant, integration: slow)
            #expect(run.status == "failed")
            #expect(run.error?.code == "run_timeout")
        }
    }

    @Test("a run-task that blows its memory limit fails alone; the worker carries on")
    func memoryLimit() async throws {
        let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.run.memory.mb": "100", "tributary.max.attempts": "1"]
        try await TestApp.run(extra: extra, worker: true) { client in
            let (tenant, greedy) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 1_000_000, "batch_size": 50_000],
                streams: ["contacts"]
            )
            let blown = try await client.waitForRun(tenant: tenant, integration: greedy)
            #expect(blown.status == "failed")
            #expect(blown.error?.code == "run_task_crashed", "\(blown)")
            let fine = try await Self.createDemo(client, tenant: tenant, config: ["records_per_run": 10], streams: ["contacts"])
            #expect(try await client.waitForRun(tenant: tenant, integration: fine).status == "succeeded")
        }
    }

    @Test("a batch that repeats a record keeps its last version")
    func duplicatesInBatch() async throws {
        try await TestApp.run(worker: true) { client in
            let (tenant, id) = try await Self.demoTenant(
                client,
                config: ["records_per_run": 120, "contacts_pool": 50, "batch_size": 100],
                streams: ["contacts"]
            )
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run.status == "succeeded")
            let rows = try await client.database.rows(PostgresQueryText("SELECT record_id || '|' || data::text FROM records"), as: String.self)
            #expect(rows.count == 50)
            var last: [String: String] = [:]
            for index in 0..<120 {
                let record = DemoGenerator.contact(run: 1, index: index, pool: 50, seed: 1)
                last[record.id] = record.json
            }
            for row in rows {
                let parts = row.split(separator: "|", maxSplits: 1).map(String.init)
                #expect(try JSON(parsing: parts[1]) == JSON(parsing: last[parts[0]] ?? "{}"))
            }
        }
    }

    @Test("check makes one call through the integration's connector and answers ok or why not")
    func check() async throws {
        try await TestApp.run { client in
            let (tenant, demo) = try await Self.demoTenant(client, config: [:])
            let ok = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(demo)/check")
            #expect(ok.status == .ok)
            #expect(try ok.decode(CheckView.self).ok == true)
            #expect(ok.raw["error"] == nil)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(UUID())/check").status == .notFound)
        }
    }

    /// Waits until the integration's run has a run-task process (and, optionally, stored at least
    /// `minimumRecords` and at most `maximumRecords`, seen in one snapshot); returns its pid.
    static func waitForTask(
        _ client: TestClient,
        integration: String,
        minimumRecords: Int = 0,
        maximumRecords: Int = .max
    ) async throws -> Int32 {
        // By the clock, not a count of polls: under a loaded machine each poll takes longer.
        let deadline = ContinuousClock.now + .seconds(90)
        var seen = "nothing"
        while ContinuousClock.now < deadline {
            let run = try await newestRun(client, integration: integration)
            seen = run.map { "\($0)" } ?? "no run"
            if let run, run.status == "running", run.pid > 0, run.stored >= minimumRecords {
                guard run.stored <= maximumRecords else { throw TestSetupError("the run stored \(run.stored) records before it was seen") }
                return run.pid
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("no run-task appeared (last seen: \(seen))")
    }

    /// The integration's newest run in one snapshot: its status, its run-task's pid (0 while it
    /// has none) and the records the integration holds; nil before it has a run.
    static func newestRun(_ client: TestClient, integration: String) async throws -> (status: String, pid: Int32, stored: Int)? {
        let state = try await client.database.rows(
            PostgresQueryText(
                """
                SELECT r.status || ' ' || coalesce(r.task_pid, 0) || ' ' || (SELECT count(*) FROM records WHERE integration_id = r.integration_id)
                FROM sync_runs r WHERE r.integration_id = '\(integration)' ORDER BY r.queued_at DESC LIMIT 1
                """
            ),
            as: String.self
        )
        guard let seen = state.first else { return nil }
        let fields = seen.split(separator: " ").map(String.init)
        guard fields.count == 3, let pid = Int32(fields[1]), let stored = Int(fields[2]) else {
            throw TestSetupError("unexpected run state \(seen)")
        }
        return (fields[0], pid, stored)
    }
}
