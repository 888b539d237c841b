import Configuration
import Foundation
import HTTPTypes
import Testing

@testable import Tributary
@testable import TributaryConnectors

@Suite("Sync engine through the API, with real run-task processes")
struct SyncTests {
    static func createDemo(_ client: TestClient, tenant: String, config: String, streams: String = #"["contacts","events"]"#) async throws -> String {
        let reply = try await client.send(
            .post, "/v1/tenants/\(tenant)/integrations",
            json: #"{"provider":"demo","name":"Demo","streams":\#(streams),"config":\#(config)}"#)
        #expect(reply.status == .created)
        return try #require(reply.json["id"] as? String)
    }

    @Test("a new integration's historical sync runs at once, in a child process, and stores every record")
    func initialSync() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(client, tenant: tenant, config: #"{"records_per_run":250,"batch_size":100}"#)
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run["status"] as? String == "succeeded")
            #expect(run["trigger"] as? String == "initial")
            #expect(run["attempt"] as? Int == 1)
            #expect(run["records_total"] as? Int == 500)
            let streams = try #require(run["streams"] as? [String: [String: Any]])
            #expect(streams["contacts"]?["records_read"] as? Int == 250)
            #expect(streams["contacts"]?["records_upserted"] as? Int == 250)
            #expect(streams["events"]?["status"] as? String == "succeeded")

            let (records, _) = try await client.allRecords(tenant: tenant, integration: id)
            #expect(records.count == 500)
            #expect(Set(records.compactMap { $0["id"] as? String }).count == 500)
            let contacts = try await client.allRecords(tenant: tenant, integration: id, stream: "contacts").records
            #expect(contacts.count == 250)
            let first = try #require(contacts.first { $0["id"] as? String == "c_0" })
            #expect((first["data"] as? [String: Any])?["email"] as? String != nil)
            #expect(first["deleted"] as? Bool == false)

            let integration = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)")
            #expect((integration.json["last_sync"] as? [String: Any])?["status"] as? String == "succeeded")
            #expect(integration.json["next_sync_at"] is String)
            let state = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/state")
            let cursors = try #require(state.json["streams"] as? [String: [String: Any]])
            #expect((cursors["contacts"]?["cursor"] as? [String: Any])?["run"] as? Int == 2)
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(id)")
                .decode(ListOf<ActivityEntry>.self).data.map(\.action.rawValue)
            #expect(actions == ["sync.succeeded", "sync.started", "integration.created"])
        }
    }

    @Test("incremental runs: the records cursor resumes with exactly what changed; unchanged records are not rewritten")
    func incrementalAndCursor() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":120,"contacts_pool":150,"batch_size":50}"#, streams: #"["contacts"]"#)
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let (firstRead, cursor) = try await client.allRecords(tenant: tenant, integration: id, limit: 7)
            #expect(firstRead.count == 120)
            #expect(Set(firstRead.compactMap { $0["id"] as? String }).count == 120)

            // Run 2 walks on through the pool of 150: 120 contacts, some new, some changed.
            let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs", json: "{}")
            #expect(started.status == .accepted)
            let second = try await client.waitForRun(tenant: tenant, integration: id, runID: started.json["id"] as? String)
            #expect(second["status"] as? String == "succeeded")
            #expect(second["trigger"] as? String == "manual")

            let expected = Set((0..<120).map { "c_\((7919 + $0) % 150)" })
            let (changed, next) = try await client.allRecords(tenant: tenant, integration: id, from: cursor, limit: 25)
            #expect(Set(changed.compactMap { $0["id"] as? String }) == expected)
            #expect(changed.count == expected.count)
            let (nothing, _) = try await client.allRecords(tenant: tenant, integration: id, from: next)
            #expect(nothing.isEmpty)

            // A full resync reads run 1 again: the same data, so nothing is rewritten.
            let resync = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs", json: #"{"full_resync":true}"#)
            let third = try await client.waitForRun(tenant: tenant, integration: id, runID: resync.json["id"] as? String)
            let stats = try #require((third["streams"] as? [String: [String: Any]])?["contacts"])
            #expect(stats["records_read"] as? Int == 120)
            #expect(third["full_resync"] as? Bool == true)
            // Run 1's contacts changed in run 2 come back as they were; the rest are untouched.
            let rewritten = Set((0..<120).map { "c_\($0)" }).intersection(expected)
            #expect(stats["records_upserted"] as? Int == rewritten.count)
            let (afterResync, _) = try await client.allRecords(tenant: tenant, integration: id, from: next)
            #expect(Set(afterResync.compactMap { $0["id"] as? String }) == rewritten)
        }
    }

    @Test("a second run while one is queued or running answers 409 naming it; bad requests are refused")
    func conflictsAndValidation() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(client, tenant: tenant, config: "{}")
            let runs = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            let queued = try #require((runs.json["data"] as? [[String: Any]])?.first)
            #expect(queued["status"] as? String == "queued")
            let conflict = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            #expect(conflict.status == .conflict)
            #expect(conflict.json["run_id"] as? String == queued["id"] as? String)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs", json: #"{"streams":["nope"]}"#).status == .unprocessableContent)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs", json: #"{"full_resync":"yes"}"#).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(UUID())").status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/records?stream=nope").status == .badRequest)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/records?cursor=zzz").status == .badRequest)

            // A queued run cancels at once.
            let cancelled = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(queued["id"] as? String ?? "")/cancel")
            #expect(cancelled.status == .accepted)
            #expect(cancelled.json["status"] as? String == "cancelled")
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").status == .accepted)

            let pending = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"keap","name":"K"}"#)
            let pendingID = try #require(pending.json["id"] as? String)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(pendingID)/syncs").status == .conflict)
        }
    }

    @Test("cancel stops the running child process")
    func cancelRunning() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":100000,"batch_size":10,"batch_delay_ms":100}"#, streams: #"["contacts"]"#)
            let pid = try await Self.waitForTask(client, integration: id)
            let runID = try #require((try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").json["data"] as? [[String: Any]])?.first?["id"] as? String)
            let cancel = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(runID)/cancel")
            #expect(cancel.status == .accepted)
            let run = try await client.waitForRun(tenant: tenant, integration: id, runID: runID)
            #expect(run["status"] as? String == "cancelled")
            #expect(kill(pid, 0) != 0, "the run-task process is gone")
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=sync.cancelled").decode(ListOf<ActivityEntry>.self).data
            #expect(actions.count == 1)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(runID)/cancel").status == .accepted)
        }
    }

    @Test("kill -9 of a run-task mid-stream: the retried run ends with exactly the source's records")
    func killNine() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":3000,"batch_size":100,"batch_delay_ms":25}"#)
            let pid = try await Self.waitForTask(client, integration: id, minimumRecords: 300)
            #expect(kill(pid, SIGKILL) == 0)
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run["status"] as? String == "succeeded")
            #expect(run["attempt"] as? Int == 2)
            let rows = try await client.database.rows(
                PostgresQueryText("SELECT record_id || '|' || data::text FROM records WHERE stream = 'contacts'"), as: String.self)
            #expect(rows.count == 3000)
            let expected = (0..<3000).map { DemoGenerator.contact(run: 1, index: $0, pool: 1_000_000, seed: 1) }
            let stored = Dictionary(uniqueKeysWithValues: rows.map { row in
                let parts = row.split(separator: "|", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            })
            #expect(Set(stored.keys) == Set(expected.map(\.id)))
            for record in expected.prefix(50) {
                let stored = try JSONSerialization.jsonObject(with: Data((stored[record.id] ?? "{}").utf8)) as? NSDictionary
                let source = try JSONSerialization.jsonObject(with: Data(record.json.utf8)) as? NSDictionary
                #expect(stored == source)
            }
            #expect(try await client.database.rows(PostgresQueryText("SELECT count(*) FROM records WHERE stream = 'events'"), as: Int.self) == [3000])
        }
    }

    @Test("a full-refresh stream marks records missing from a complete run as deleted")
    func fullRefreshTombstones() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(client, tenant: tenant, config: #"{"lists_count":10}"#, streams: #"["lists"]"#)
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let (before, cursor) = try await client.allRecords(tenant: tenant, integration: id)
            #expect(before.count == 10)
            #expect(try await client.send(.patch, "/v1/tenants/\(tenant)/integrations/\(id)", json: #"{"config":{"lists_count":7}}"#).status == .ok)
            let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            let run = try await client.waitForRun(tenant: tenant, integration: id, runID: started.json["id"] as? String)
            let stats = try #require((run["streams"] as? [String: [String: Any]])?["lists"])
            #expect(stats["records_deleted"] as? Int == 3)
            #expect(stats["records_upserted"] as? Int == 0)
            let (changed, _) = try await client.allRecords(tenant: tenant, integration: id, from: cursor)
            #expect(Set(changed.compactMap { $0["id"] as? String }) == ["l_7", "l_8", "l_9"])
            #expect(changed.allSatisfy { $0["deleted"] as? Bool == true })
        }
    }

    @Test("failing runs fail with the connector's message; three in a row mark the integration failing, a success recovers it")
    func failures() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":20,"batch_size":5,"fail_on_run":1}"#, streams: #"["contacts"]"#)
            let first = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(first["status"] as? String == "failed")
            #expect((first["error"] as? [String: Any])?["code"] as? String == "demo_failure")
            for _ in 0..<2 {
                let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
                _ = try await client.waitForRun(tenant: tenant, integration: id, runID: started.json["id"] as? String)
            }
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").json["status"] as? String == "failing")
            #expect(try await client.send(.patch, "/v1/tenants/\(tenant)/integrations/\(id)", json: #"{"config":{"records_per_run":20,"batch_size":5}}"#).status == .ok)
            let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            let recovered = try await client.waitForRun(tenant: tenant, integration: id, runID: started.json["id"] as? String)
            #expect(recovered["status"] as? String == "succeeded")
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").json["status"] as? String == "active")
            let failed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=sync.failed").decode(ListOf<ActivityEntry>.self).data
            #expect(failed.count == 3)
        }
    }

    @Test("state can be read and reset; the next run reads history again")
    func stateReset() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(client, tenant: tenant, config: #"{"records_per_run":10}"#)
            _ = try await client.waitForRun(tenant: tenant, integration: id)
            let path = "/v1/tenants/\(tenant)/integrations/\(id)/state"
            #expect((try await client.send(.get, path).json["streams"] as? [String: Any])?.count == 2)
            #expect(try await client.send(.delete, "\(path)?stream=nope").status == .badRequest)
            let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
            let busy = try await client.send(.delete, path)
            #expect(busy.status == .conflict || busy.status == .noContent)  // the run may already have ended
            if busy.status == .conflict { #expect(busy.json["run_id"] as? String == started.json["id"] as? String) }
            _ = try await client.waitForRun(tenant: tenant, integration: id, runID: started.json["id"] as? String)
            #expect(try await client.send(.delete, "\(path)?stream=events").status == .noContent)
            #expect((try await client.send(.get, path).json["streams"] as? [String: Any])?.keys.sorted() == ["contacts"])
            #expect(try await client.send(.delete, path).status == .noContent)
            #expect((try await client.send(.get, path).json["streams"] as? [String: Any])?.isEmpty == true)
        }
    }

    @Test("a hung run-task is stopped at the wall-clock limit")
    func wallClockLimit() async throws {
        let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.run.timeout.seconds": "2", "tributary.max.attempts": "1"]
        try await TestApp.run(extra: extra, worker: true) { client in
            let tenant = try await client.createTenant()
            let slow = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":1000,"batch_size":1,"batch_delay_ms":1000}"#, streams: #"["contacts"]"#)
            let run = try await client.waitForRun(tenant: tenant, integration: slow)
            #expect(run["status"] as? String == "failed")
            #expect((run["error"] as? [String: Any])?["code"] as? String == "run_timeout")
        }
    }

    @Test("a run-task that blows its memory limit fails alone; the worker carries on")
    func memoryLimit() async throws {
        let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.run.memory.mb": "100", "tributary.max.attempts": "1"]
        try await TestApp.run(extra: extra, worker: true) { client in
            let tenant = try await client.createTenant()
            let greedy = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":2000000,"batch_size":50000}"#, streams: #"["contacts"]"#)
            let blown = try await client.waitForRun(tenant: tenant, integration: greedy)
            #expect(blown["status"] as? String == "failed")
            #expect((blown["error"] as? [String: Any])?["code"] as? String == "run_task_crashed", "\(blown)")
            let fine = try await Self.createDemo(client, tenant: tenant, config: #"{"records_per_run":10}"#, streams: #"["contacts"]"#)
            #expect(try await client.waitForRun(tenant: tenant, integration: fine)["status"] as? String == "succeeded")
        }
    }

    @Test("a batch that repeats a record keeps its last version")
    func duplicatesInBatch() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await Self.createDemo(
                client, tenant: tenant, config: #"{"records_per_run":120,"contacts_pool":50,"batch_size":100}"#, streams: #"["contacts"]"#)
            let run = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(run["status"] as? String == "succeeded")
            let rows = try await client.database.rows(PostgresQueryText("SELECT record_id || '|' || data::text FROM records"), as: String.self)
            #expect(rows.count == 50)
            var last: [String: String] = [:]
            for index in 0..<120 {
                let record = DemoGenerator.contact(run: 1, index: index, pool: 50, seed: 1)
                last[record.id] = record.json
            }
            for row in rows {
                let parts = row.split(separator: "|", maxSplits: 1).map(String.init)
                let stored = try JSONSerialization.jsonObject(with: Data(parts[1].utf8)) as? NSDictionary
                let expected = try JSONSerialization.jsonObject(with: Data((last[parts[0]] ?? "{}").utf8)) as? NSDictionary
                #expect(stored == expected)
            }
        }
    }

    @Test("check makes one call through the integration's connector and answers ok or why not")
    func check() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let demo = try await Self.createDemo(client, tenant: tenant, config: "{}")
            let ok = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(demo)/check")
            #expect(ok.status == .ok)
            #expect(ok.json["ok"] as? Bool == true)
            #expect(ok.json["error"] == nil)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(UUID())/check").status == .notFound)
        }
    }

    /// Waits until the integration's run has a run-task process (and, optionally, stored some records); returns its pid.
    static func waitForTask(_ client: TestClient, integration: String, minimumRecords: Int = 0) async throws -> Int32 {
        for _ in 0..<300 {
            let pids = try await client.database.rows(
                PostgresQueryText("SELECT coalesce(task_pid, 0) FROM sync_runs WHERE integration_id = '\(integration)' AND status = 'running'"),
                as: Int.self)
            let stored = try await client.database.rows(
                PostgresQueryText("SELECT count(*) FROM records WHERE integration_id = '\(integration)'"), as: Int.self)
            if let pid = pids.first, pid > 0, (stored.first ?? 0) >= minimumRecords { return Int32(pid) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("no run-task appeared")
    }
}
