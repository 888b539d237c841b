import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("rest child streams: a parent stream's records, each with its children")
struct RestChildStreamTests {
    static let hostile = ["../admin", "a?b=1", "c#d", "e/f", "..", "g%2Fh", "plain"]

    static func config(port: Int) -> [String: JSONValue] {
        [
            "base_url": .string("http://127.0.0.1:\(port)"), "auth": ["type": "none"],
            "streams": [
                ["name": "groups", "path": "/groups", "records_path": "/groups", "primary_key": "id"],
                [
                    "name": "members", "path": "/unused", "records_path": "/members", "primary_key": "id",
                    "parent": ["stream": "groups", "path": "/groups/{id}/members"],
                ],
            ],
        ]
    }

    @Test("children are read for every parent, hostile ids staying one path segment, keyed parent and child")
    func childrenOfEveryParent() async throws {
        let fake = FakeJSONAPI()
        for (index, id) in Self.hostile.enumerated() {
            await fake.addGroup(id, members: [["id": .number(1)], ["id": .string("m\(index)")]])
        }
        try await withFakeServer(fake.router) { port in
            let config = Self.config(port: port)
            let connector = try RestConnector(context: testContext(config, credential: .none))
            let stream = try #require(RestProvider.streams(config: config).first { $0.name == "members" })
            #expect(stream.primaryKey == ["_parent_id", "id"])
            #expect(stream.syncMode == .fullRefresh)
            let request = StreamRequest(stream: stream, cursor: nil, historicalSyncDays: 90)
            #expect(connector.isCompletePass(request))
            let collected = Collected()
            try await connector.read(request) { await collected.add($0) }
            let ids = await collected.ids
            #expect(ids.count == Self.hostile.count * 2)
            #expect(Set(ids).count == ids.count)  // member 1 of every group stays apart
            #expect(Set(ids).contains(ChildStreams.key(parent: "e/f", child: "1")))
            let record = try #require(await collected.records.first { $0.id == ChildStreams.key(parent: "../admin", child: "m0") })
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(record.json.utf8))
            #expect(json["_parent_id"] == "../admin")
            // Every request stayed on /groups/<one segment>/members: none climbed, queried or cut the path.
            let requests = await fake.requests.filter { $0 != "/groups" }
            #expect(requests.count == Self.hostile.count)
            for path in requests {
                let segments = path.split(separator: "/", omittingEmptySubsequences: false)
                #expect(segments.count == 4 && segments[1] == "groups" && segments[3] == "members", "\(path)")
            }
            #expect(await collected.lastCheckpoint == [:])
        }
    }

    @Test("a child stream resumes at its parent: earlier parents are not read again")
    func resume() async throws {
        let fake = FakeJSONAPI()
        for id in ["g1", "g2", "g3"] { await fake.addGroup(id, members: [["id": .string("m-\(id)")]]) }
        try await withFakeServer(fake.router) { port in
            let config = Self.config(port: port)
            let connector = try RestConnector(context: testContext(config, credential: .none))
            let stream = try #require(RestProvider.streams(config: config).first { $0.name == "members" })
            let request = StreamRequest(stream: stream, cursor: ["parent": "g2"], historicalSyncDays: 90)
            #expect(!connector.isCompletePass(request))
            let collected = Collected()
            try await connector.read(request) { await collected.add($0) }
            #expect(await fake.requests == ["/groups", "/groups/g2/members", "/groups/g3/members"])
            #expect(Set(await collected.ids) == [ChildStreams.key(parent: "g2", child: "m-g2"), ChildStreams.key(parent: "g3", child: "m-g3")])
        }
    }

    @Test("a parent must be another stream of the config, without cycles; a child stream has no cursor")
    func rules() {
        func violations(_ streams: [JSONValue]) -> [String] {
            RestProvider.descriptor.violations(config: ["base_url": "http://api.test", "streams": .array(streams)]).map(\.path)
        }
        func stream(_ name: String, parent: String?, cursor: Bool = false) -> JSONValue {
            var object: [String: JSONValue] = ["name": .string(name), "path": "/x", "primary_key": "id"]
            if let parent { object["parent"] = ["stream": .string(parent), "path": "/x/{id}/y"] }
            if cursor { object["cursor_field"] = "updated_at" }
            return .object(object)
        }
        #expect(violations([stream("a", parent: nil), stream("b", parent: "a")]).isEmpty)
        #expect(violations([stream("a", parent: nil), stream("b", parent: "zz")]) == ["config.streams[1].parent.stream"])
        #expect(violations([stream("a", parent: "a")]) == ["config.streams[0].parent.stream"])
        #expect(
            violations([stream("a", parent: "b"), stream("b", parent: "a")]) == [
                "config.streams[0].parent.stream", "config.streams[1].parent.stream",
            ]
        )
        #expect(violations([stream("a", parent: nil), stream("b", parent: "a", cursor: true)]) == ["config.streams[1].cursor_field"])
        let chain = (0..<8).map { stream("s\($0)", parent: $0 == 0 ? nil : "s\($0 - 1)") }
        #expect(violations(chain) == ["config.streams[6].parent.stream", "config.streams[7].parent.stream"])
        let noID: JSONValue = ["name": "b", "path": "/x", "primary_key": "id", "parent": ["stream": "a", "path": "/x/children"]]
        #expect(violations([stream("a", parent: nil), noID]) == ["config.streams[1].parent.path"])
    }
}
