import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Klaviyo child streams against a fake Klaviyo")
struct KlaviyoChildStreamTests {
    static func connector(port: Int, config: [String: JSONValue] = [:]) throws -> KlaviyoConnector {
        var connector = try KlaviyoConnector(
            context: testContext(
                config.merging(["base_url": .string("http://127.0.0.1:\(port)")]) { _, new in new },
                credential: .apiKey(KlaviyoConnectorTests.key)
            )
        )
        connector.http.limits.retryBase = .milliseconds(20)
        return connector
    }

    static func request(_ name: String, cursor: JSONValue? = nil) throws -> StreamRequest {
        StreamRequest(stream: try #require(KlaviyoProvider.descriptor.stream(named: name)), cursor: cursor, historicalSyncDays: 90)
    }

    @Test("the catalog lists the child streams with their modes and keys")
    func catalog() throws {
        let streams = Dictionary(KlaviyoProvider.descriptor.streams.map { ($0.name, $0) }) { first, _ in first }
        #expect(streams["list_memberships"]?.primaryKey == ["list_id", "profile_id"])
        #expect(streams["list_memberships"]?.syncMode == .incremental)
        #expect(streams["list_memberships"]?.cursorField == "joined_group_at")
        #expect(streams["segment_memberships"]?.primaryKey == ["segment_id", "profile_id"])
        for name in ["flow_actions", "flow_messages", "campaign_messages"] {
            #expect(streams[name]?.syncMode == .fullRefresh)
            #expect(streams[name]?.primaryKey == ["id"])
        }
    }

    @Test("memberships: every list's profiles as pairs keyed list and profile, then greater-or-equal each list's newest")
    func memberships() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 86400).rounded(.down))
        for list in ["L1", "L2"] { await fake.add(type: "list", id: list, attributes: ["name": .string(list)]) }
        await fake.add(type: "profile", id: "P1", attributes: ["email": "p1@x.test"])
        for index in 0..<150 { await fake.join(group: "L1", profile: "P\(index)", at: base.addingTimeInterval(Double(index))) }
        await fake.join(group: "L2", profile: "P1", at: base)
        try await withFakeServer(fake.router) { port in
            let connector = try Self.connector(port: port)
            let first = Collected()
            let request = try Self.request("list_memberships")
            #expect(connector.isCompletePass(request))  // the first pass reads every list whole
            try await connector.read(request) { await first.add($0) }
            let ids = await first.ids
            #expect(ids.count == 151)
            #expect(Set(ids).contains("L1:P1") && Set(ids).contains("L2:P1"))
            let record = try #require(await first.records.first { $0.id == "L1:P1" })
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(record.json.utf8))
            #expect(json["list_id"] == "L1")
            #expect(json["profile_id"] == "P1")
            #expect(json["email"] == "p1@x.test")
            #expect(json["joined_group_at"]?.stringValue.flatMap(Timestamps.parse) == base.addingTimeInterval(1))
            let requests = await fake.requests
            #expect(requests.filter { $0.contains("/api/lists/L1/profiles") }.count == 2)  // 100 a page
            #expect(requests.allSatisfy { !$0.contains("filter=greater") })

            // The next pass asks each list from its own newest second on.
            let checkpoint = try #require(await first.lastCheckpoint)
            #expect(checkpoint["parent"] == nil)
            #expect(checkpoint["full_pass_at"] != nil)
            await fake.join(group: "L2", profile: "P9", at: base)  // in L2's checkpoint second
            let next = try Self.request("list_memberships", cursor: checkpoint)
            #expect(!connector.isCompletePass(next))
            let second = Collected()
            try await connector.read(next) { await second.add($0) }
            #expect(Set(await second.ids) == ["L1:P149", "L2:P1", "L2:P9"])
            let incremental = await fake.requests.dropFirst(requests.count).filter { $0.contains("/profiles") }
            #expect(incremental.count == 2)
            #expect(incremental.allSatisfy { $0.contains("greater-or-equal") && $0.contains("sort=joined_group_at") })
        }
    }

    @Test("flow actions of every flow, flow messages of every action, campaign messages of every campaign, each with its parent")
    func flowsAndCampaigns() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key)
        for flow in ["F1", "F2"] { await fake.add(type: "flow", id: flow, attributes: ["name": .string(flow)]) }
        for index in 0..<60 { await fake.addChild(type: "flow-action", parent: "F1", id: "A\(index)", attributes: ["action_type": "SEND_EMAIL"]) }
        await fake.addChild(type: "flow-action", parent: "F2", id: "B0", attributes: [:])
        await fake.addChild(type: "flow-message", parent: "A3", id: "M1", attributes: ["name": "Welcome"])
        await fake.addChild(type: "flow-message", parent: "B0", id: "M2", attributes: ["name": "Again"])
        await fake.add(type: "campaign", id: "C1", attributes: ["name": "Spring"], channel: "email")
        await fake.add(type: "campaign", id: "C2", attributes: ["name": "Text"], channel: "sms")
        await fake.addChild(type: "campaign-message", parent: "C1", id: "CM1", attributes: [:])
        await fake.addChild(type: "campaign-message", parent: "C2", id: "CM2", attributes: [:])
        try await withFakeServer(fake.router) { port in
            let connector = try Self.connector(port: port)
            let actions = Collected()
            try await connector.read(try Self.request("flow_actions")) { await actions.add($0) }
            #expect(Set(await actions.ids) == Set((0..<60).map { "A\($0)" } + ["B0"]))
            let action = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(await actions.records.first).json.utf8))
            #expect(action["flow_id"] == "F1")
            #expect(await fake.requests.contains { $0.contains("/api/flows/F1/flow-actions") && $0.contains("page%5Bsize%5D=50") })

            // Flow messages are read under every flow action: keep a few, as a request each is slow at Klaviyo (3/s).
            for index in 4..<60 { await fake.removeChild(type: "flow-action", parent: "F1", id: "A\(index)") }
            let messages = Collected()
            try await connector.read(try Self.request("flow_messages")) { await messages.add($0) }
            #expect(Set(await messages.ids) == ["M1", "M2"])
            let campaign = Collected()
            try await connector.read(try Self.request("campaign_messages")) { await campaign.add($0) }
            #expect(Set(await campaign.ids) == ["CM1", "CM2"])
            let message = try JSONDecoder().decode(
                JSONValue.self,
                from: Data(try #require(await campaign.records.first { $0.id == "CM2" }).json.utf8)
            )
            #expect(message["campaign_id"] == "C2")
        }
    }

    @Test("a read cut short resumes at the parent it was on: earlier parents are not read again, nor is it a complete pass")
    func resume() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key)
        for flow in ["F1", "F2", "F3"] {
            await fake.add(type: "flow", id: flow, attributes: [:])
            await fake.addChild(type: "flow-action", parent: flow, id: "A-\(flow)", attributes: [:])
        }
        try await withFakeServer(fake.router) { port in
            let connector = try Self.connector(port: port)
            let collected = Collected()
            await #expect(throws: SimulatedCrash.self) {
                try await connector.read(try Self.request("flow_actions")) { batch in
                    if batch.records.first?.id == "A-F2" { throw SimulatedCrash() }
                    await collected.add(batch)
                }
            }
            let checkpoint = try #require(await collected.lastCheckpoint)
            #expect(checkpoint["parent"] == "F1")  // F2's batch was not stored
            let resumed = try Self.request("flow_actions", cursor: checkpoint)
            #expect(!connector.isCompletePass(resumed))
            let before = await fake.requests.count
            let rest = Collected()
            try await connector.read(resumed) { await rest.add($0) }
            let paths = await fake.requests.dropFirst(before).filter { $0.contains("flow-actions") }
            #expect(paths.count == 3)  // F1 (the parent it was on), F2, F3
            #expect(Set(await rest.ids) == ["A-F1", "A-F2", "A-F3"])
            #expect(await rest.lastCheckpoint == [:])
        }
    }

    @Test("hostile list ids stay one path segment; a joined_group_at far in the future does not stop the list's cursor")
    func hostileProvider() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key)
        let hostile = ["../metrics", "a?b=1", "c#d", "e/f", ".."]
        for list in hostile { await fake.add(type: "list", id: list, attributes: [:]) }
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))
        await fake.join(group: "e/f", profile: "P1", at: base)
        await fake.join(group: "e/f", profile: "P2", at: Date(timeIntervalSince1970: 32_503_680_000))  // the year 3000
        for list in hostile where list != "e/f" { await fake.join(group: list, profile: "P1", at: base) }
        try await withFakeServer(fake.router) { port in
            let connector = try Self.connector(port: port)
            let first = Collected()
            try await connector.read(try Self.request("list_memberships")) { await first.add($0) }
            #expect(Set(await first.ids) == Set(hostile.map { ChildStreams.key(parent: $0, child: "P1") } + ["e/f:P2"]))
            let paths = await fake.requests.filter { $0.contains("/profiles") }.map { $0.split(separator: "?")[0] }
            #expect(paths.count == hostile.count)
            // "GET ", api, lists, the id, profiles: the id never split the path.
            #expect(paths.allSatisfy { $0.split(separator: "/").count == 5 && $0.hasSuffix("/profiles/") }, "\(paths)")
            // The cursor of e/f stayed at P1's second, so a profile joining now is read next time.
            let checkpoint = try #require(await first.lastCheckpoint)
            #expect(checkpoint["cursors"]?["e/f"]?.stringValue.flatMap(Timestamps.parse) == base)
            await fake.join(group: "e/f", profile: "P3", at: Date())
            let second = Collected()
            try await connector.read(try Self.request("list_memberships", cursor: checkpoint)) { await second.add($0) }
            #expect(Set(await second.ids).contains("e/f:P3"))
        }
    }

    @Test("the fake answers 400 to a filter the endpoint does not offer, as Klaviyo does")
    func unsupportedFilter() async throws {
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key)
        await fake.add(type: "list", id: "L1", attributes: [:])
        try await withFakeServer(fake.router) { port in
            let connector = try Self.connector(port: port)
            let url = connector.http.url("/api/lists/L1/profiles/", query: [("filter", "greater-than(updated,2024-01-01T00:00:00Z)")])
            await #expect(throws: ConnectorError.self) { try await connector.http.getJSON(url) }
            let big = connector.http.url("/api/lists/L1/profiles/", query: [("page[size]", "101")])
            await #expect(throws: ConnectorError.self) { try await connector.http.getJSON(big) }
        }
    }
}
