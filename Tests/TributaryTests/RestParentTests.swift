import Fakes
import Foundation
import HTTPTypes
import Testing
import TributaryConnectors

@testable import Tributary

@Suite("rest child streams through the API and the sync engine")
struct RestParentTests {
    static func streams(parent: String = "groups", path: String = "/groups/{id}/members") -> JSON {
        [
            ["name": "groups", "path": "/groups", "records_path": "/groups", "primary_key": "id"],
            [
                "name": "members", "path": "/unused", "records_path": "/members", "primary_key": "id",
                "parent": ["stream": .string(parent), "path": .string(path)],
            ],
        ]
    }

    @Test("a parent that is not another stream of the config, or that makes a cycle, answers 422 naming the field")
    func validation() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let base = "/v1/tenants/\(tenant)/integrations"
            func create(_ streams: JSON) async throws -> Reply {
                try await client.send(
                    .post,
                    base,
                    body: IntegrationBody(provider: "rest", name: "R", config: ["base_url": "http://api.test", "streams": streams])
                )
            }
            let unknown = try await create(Self.streams(parent: "teams"))
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.errorFields == ["config.streams[1].parent.stream"])
            let itself = try await create(Self.streams(parent: "members"))
            #expect(itself.errorFields == ["config.streams[1].parent.stream"])
            let cycle: JSON = [
                ["name": "a", "path": "/a", "primary_key": "id", "parent": ["stream": "b", "path": "/b/{id}/a"]],
                ["name": "b", "path": "/b", "primary_key": "id", "parent": ["stream": "a", "path": "/a/{id}/b"]],
            ]
            let cyclic = try await create(cycle)
            #expect(cyclic.status == .unprocessableContent)
            #expect(cyclic.errorFields == ["config.streams[0].parent.stream", "config.streams[1].parent.stream"])
            let noID = try await create(Self.streams(path: "/groups/members"))
            #expect(noID.errorFields == ["config.streams[1].parent.path"])
            #expect(try await create(Self.streams()).status == .created)
        }
    }

    @Test("a child stream syncs every parent's children; a group gone becomes tombstones")
    func sync() async throws {
        let fake = FakeJSONAPI()
        for group in ["g1", "../g2"] { await fake.addGroup(group, members: [["id": 1], ["id": 2]]) }
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.createIntegration(
                    tenant: tenant,
                    IntegrationBody(
                        provider: "rest",
                        name: "R",
                        streams: ["members"],
                        config: ["base_url": .string("http://127.0.0.1:\(port)"), "auth": ["type": "none"], "streams": Self.streams()]
                    )
                )
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "succeeded", "\(run)")
                let records = try await client.allRecords(tenant: tenant, integration: id, stream: "members").records
                #expect(Set(records.map(\.id)) == ["g1:1", "g1:2", "../g2:1", "../g2:2"])
                #expect(records.first { $0.id == "../g2:1" }?.data["_parent_id"]?.string == "../g2")
                await fake.removeGroup("../g2")
                let (_, second) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(second.streams["members"]?.recordsDeleted == 2)
            }
        }
    }
}
