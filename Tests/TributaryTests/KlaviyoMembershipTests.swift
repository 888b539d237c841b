import Fakes
import Foundation
import Testing
import TributaryConnectors

@testable import Tributary

@Suite("Klaviyo memberships and child streams through the sync engine")
struct KlaviyoMembershipTests {
    static func integration(_ client: TestClient, tenant: String, port: Int, streams: [String]) async throws -> String {
        try await client.klaviyoIntegration(tenant: tenant, port: port, key: KlaviyoFake.key, streams: streams)
    }

    /// The stored records of a stream: id → (data, deleted).
    static func stored(_ client: TestClient, integration: String, stream: String) async throws -> [String: (data: String, deleted: Bool)] {
        let rows = try await client.database.rows(
            PostgresQueryText(
                "SELECT record_id || '|' || deleted::text || '|' || data::text FROM records "
                    + "WHERE integration_id = '\(integration)' AND stream = '\(stream)'"
            ),
            as: String.self
        )
        var result: [String: (data: String, deleted: Bool)] = [:]
        for row in rows {
            let parts = row.split(separator: "|", maxSplits: 2).map(String.init)
            if parts.count == 3 { result[parts[0]] = (parts[2], parts[1] == "true") }
        }
        return result
    }

    @Test("memberships: historical, then additions (one in the checkpoint's second) incrementally; only the full pass tombstones")
    func incrementalAndFullPass() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoFake.key)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))
        for list in ["L1", "L2"] { await fake.add(type: "list", id: list, attributes: ["name": .string(list)]) }
        for index in 0..<5 { await fake.join(group: "L1", profile: "P\(index)", at: base.addingTimeInterval(Double(index))) }
        await fake.join(group: "L2", profile: "P0", at: base.addingTimeInterval(10))
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.integration(client, tenant: tenant, port: port, streams: ["list_memberships"])
                let first = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(first.status == "succeeded", "\(first)")
                #expect(
                    Set(try await Self.stored(client, integration: id, stream: "list_memberships").keys)
                        == Set(
                            ["L1:P0", "L1:P1", "L1:P2", "L1:P3", "L1:P4", "L2:P0"])
                )

                // A profile joins later, another in L1's checkpoint second; one leaves.
                await fake.join(group: "L1", profile: "P5", at: Date())
                await fake.join(group: "L1", profile: "P6", at: base.addingTimeInterval(4))
                await fake.leave(group: "L1", profile: "P0")
                let (_, second) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(second.status == "succeeded", "\(second)")
                #expect(second.streams["list_memberships"]?.recordsDeleted == 0)  // an incremental pass cannot know who left
                var stored = try await Self.stored(client, integration: id, stream: "list_memberships")
                #expect(stored["L1:P5"]?.deleted == false)
                #expect(stored["L1:P6"]?.deleted == false)
                #expect(stored["L1:P0"]?.deleted == false)
                let profiles = await fake.requests.filter { $0.contains("/profiles") }
                #expect(profiles.suffix(2).allSatisfy { $0.contains("greater-or-equal") })

                // A week later the pass reads every list whole and tombstones the membership that ended.
                try await Self.ageFullPass(client, integration: id)
                let (_, third) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(third.status == "succeeded", "\(third)")
                #expect(third.streams["list_memberships"]?.recordsDeleted == 1)
                stored = try await Self.stored(client, integration: id, stream: "list_memberships")
                #expect(stored["L1:P0"]?.deleted == true)
                #expect(stored.filter { !$0.value.deleted }.count == 7)
                let cursor = try await client.database.rows(
                    PostgresQueryText(
                        "SELECT cursor ->> 'full_pass_at' FROM sync_state WHERE integration_id = '\(id)' AND stream = 'list_memberships'"
                    ),
                    as: String.self
                )
                #expect(cursor.first.flatMap(Timestamps.parse).map { $0 > base } == true)
            }
        }
    }

    @Test("a full pass that fails part-way tombstones nothing, nor does its resumed retry; the next whole pass does")
    func failedFullPass() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoFake.key)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))
        for list in ["L1", "L2", "L3"] {
            await fake.add(type: "list", id: list, attributes: [:])
            await fake.join(group: list, profile: "P1", at: base)
        }
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.integration(client, tenant: tenant, port: port, streams: ["list_memberships"])
                #expect(try await client.waitForRun(tenant: tenant, integration: id).status == "succeeded")
                await fake.leave(group: "L3", profile: "P1")
                try await Self.ageFullPass(client, integration: id)
                // The full pass stores L1 and L2, then L3 is not found (a 403 would be a refused key,
                // which stops the integration): the run fails, having read L1 and L2.
                await fake.failChildren(of: "L3", status: 404)
                let (_, failed) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(failed.status == "failed", "\(failed)")
                #expect(try await Self.stored(client, integration: id, stream: "list_memberships")["L3:P1"]?.deleted == false)
                // The next run resumes at L2 and reads L3 whole, but the pass began in another run: not complete.
                await fake.failChildren(of: "L3", status: nil)
                let before = await fake.requests.count
                let (_, resumed) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(resumed.status == "succeeded", "\(resumed)")
                #expect(resumed.streams["list_memberships"]?.recordsDeleted == 0)
                let read = await fake.requests.dropFirst(before).filter { $0.contains("/profiles") }
                #expect(read.count == 2 && !read.contains { $0.contains("/L1/") })
                // And the run after it does the full pass again, from the first list: now L3:P1 ends.
                let (_, full) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(full.streams["list_memberships"]?.recordsDeleted == 1)
                #expect(try await Self.stored(client, integration: id, stream: "list_memberships")["L3:P1"]?.deleted == true)
            }
        }
    }

    /// Moves the stream's last full pass back to 2000, so the next pass is a full one.
    static func ageFullPass(_ client: TestClient, integration: String) async throws {
        let aged = try await client.database.rows(
            PostgresQueryText(
                "UPDATE sync_state SET cursor = jsonb_set(cursor, '{full_pass_at}', '\"2000-01-01T00:00:00Z\"') "
                    + "WHERE integration_id = '\(integration)' AND stream = 'list_memberships' RETURNING 1"
            ),
            as: Int.self
        )
        #expect(aged == [1])
    }

    @Test("kill -9 mid-way through the lists: the retry resumes at the list it was on, and the dataset equals the source")
    func killNineResumesAtParent() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoFake.key)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))
        let lists = (0..<10).map { String(format: "L%02d", $0) }
        for list in lists {
            await fake.add(type: "list", id: list, attributes: [:])
            for index in 0..<20 { await fake.join(group: list, profile: "P\(index)", at: base.addingTimeInterval(Double(index))) }
        }
        await fake.delayChildren(.milliseconds(400))
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.integration(client, tenant: tenant, port: port, streams: ["list_memberships"])
                let pid = try await SyncTests.waitForTask(client, integration: id, minimumRecords: 60)
                #expect(kill(pid, SIGKILL) == 0)
                let atKill = await fake.requests.count
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "succeeded", "\(run)")
                #expect(run.attempt == 2)
                // Three lists were stored before the kill: the retry starts at the third at the earliest.
                let retried = await fake.requests.dropFirst(atKill).filter { $0.contains("/profiles") }
                #expect(!retried.isEmpty)
                #expect(!retried.contains { $0.contains("/L00/") || $0.contains("/L01/") }, "\(retried)")
                let stored = try await Self.stored(client, integration: id, stream: "list_memberships")
                let expected = Set(lists.flatMap { list in (0..<20).map { "\(list):P\($0)" } })
                #expect(Set(stored.keys) == expected)
                #expect(stored.values.allSatisfy { !$0.deleted })
                let sample = try JSON(parsing: try #require(stored["L07:P3"]).data)
                #expect(sample["list_id"]?.string == "L07")
                #expect(sample["profile_id"]?.string == "P3")
                #expect(sample["joined_group_at"]?.string.flatMap(Timestamps.parse) == base.addingTimeInterval(3))
            }
        }
    }

    @Test("flow actions and messages, campaign messages sync through the engine; a removed flow action becomes a tombstone")
    func childStreams() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoFake.key)
        await fake.add(type: "flow", id: "F1", attributes: [:])
        await fake.addChild(type: "flow-action", parent: "F1", id: "A1", attributes: [:])
        await fake.addChild(type: "flow-action", parent: "F1", id: "A2", attributes: [:])
        await fake.addChild(type: "flow-message", parent: "A1", id: "M1", attributes: [:])
        await fake.add(type: "campaign", id: "C1", attributes: [:], channel: "email")
        await fake.addChild(type: "campaign-message", parent: "C1", id: "CM1", attributes: [:])
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let streams = ["flow_actions", "flow_messages", "campaign_messages"]
                let id = try await Self.integration(client, tenant: tenant, port: port, streams: streams)
                let first = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(first.status == "succeeded", "\(first)")
                #expect(Set(try await Self.stored(client, integration: id, stream: "flow_actions").keys) == ["A1", "A2"])
                #expect(Set(try await Self.stored(client, integration: id, stream: "flow_messages").keys) == ["M1"])
                #expect(Set(try await Self.stored(client, integration: id, stream: "campaign_messages").keys) == ["CM1"])
                await fake.removeChild(type: "flow-action", parent: "F1", id: "A2")
                let (_, second) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(second.streams["flow_actions"]?.recordsDeleted == 1)
                #expect(try await Self.stored(client, integration: id, stream: "flow_actions")["A2"]?.deleted == true)
            }
        }
    }
}

/// The fake Klaviyo's key for these tests.
enum KlaviyoFake {
    static let key = "pk_test_memberships"
}
