import Fakes
import Foundation
import HTTPTypes
import Testing
import TributaryConnectors

@testable import Tributary

@Suite("Connectors through the sync engine")
struct ConnectorSyncTests {
    @Test("a Klaviyo integration syncs from the provider with its sealed key; check answers ok or why not")
    func klaviyoEndToEnd() async throws {
        let fake = FakeKlaviyo(apiKey: "pk_live_e2e_SECRET")
        for index in 0..<30 {
            let updated = Timestamps.format(Date(timeIntervalSinceNow: -Double(index) * 60))
            await fake.add(type: "profile", id: "P\(index)", attributes: ["email": .string("p\(index)@x.test"), "updated": .string(updated)])
        }
        let logs = LogCapture()
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(logs: logs, worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.klaviyoIntegration(tenant: tenant, port: port, key: "pk_live_e2e_SECRET", streams: ["profiles"])
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "succeeded", "\(run)")
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.count == 30)
                #expect(records.first?.data["type"] == "profile")

                let path = "/v1/tenants/\(tenant)/integrations/\(id)"
                #expect(try await client.send(.post, "\(path)/check").decode(CheckView.self).ok == true)
                #expect(try await client.send(.put, "\(path)/credential", body: CredentialBody.apiKey("pk_wrong")).status == .ok)
                let refused = try await client.send(.post, "\(path)/check").decode(CheckView.self)
                #expect(refused.ok == false)
                #expect(refused.error?.code == "credential_rejected")
                #expect(!logs.text.contains("pk_live_e2e_SECRET"))
            }
        }
    }

    /// A `rest` integration of one stream on a local fake JSON API, without credential.
    static func restIntegration(_ client: TestClient, tenant: String, port: Int, stream: JSON) async throws -> String {
        try await client.createIntegration(
            tenant: tenant,
            IntegrationBody(
                provider: "rest",
                name: "R",
                config: ["base_url": .string("http://127.0.0.1:\(port)"), "auth": ["type": "none"], "streams": [stream]]
            )
        )
    }

    @Test("records are stored from the provider's own text where jsonb takes it, else written again: every valid answer is stored")
    func providerTextStored() async throws {
        // Valid JSON that Postgres's jsonb would refuse as written (an escaped NUL, trailing commas,
        // an exponent past numeric's), beside text it takes as it is; the records array comes twice
        // and its last value stands, as for any repeated key.
        let fraction = "0." + String(repeating: "1", count: 60)
        let body = #"""
            {"items": [{"id": 99}],
             "items": [
              { "id" : 1 ,
                "name" : "pretty\tprinted" },
              {"id":2,"name":"a\u0000b"},
              {"id":3,"tags":[1,2,],},
              {"id":4,"x":1e-1001},
              {"id":5,"x":\#(fraction)},
              {"id":6,"s":"\/\ud83d\ude00"},
              {"id":7,"k":1,"k":2},
              {"id":8,"big":12345678901234567890.5},
              {"id":9,"tiny":0.5e-999,"wide":-1234567890123456789.0123456789012345678}
             ]}
            """#
        let script = AnswerScript([], fallback: .json(body))
        try await ScriptedServer.with(script) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let stream: JSON = ["name": "items", "path": "/items", "records_path": "/items", "primary_key": "id"]
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, stream: stream)
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "succeeded", "\(run)")
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                let data = Dictionary(records.map { ($0.id, $0.data) }, uniquingKeysWith: { _, last in last })
                #expect(data.keys.sorted() == ["1", "2", "3", "4", "5", "6", "7", "8", "9"])
                #expect(data["1"] == ["id": .int(1), "name": .string("pretty\tprinted")])
                #expect(data["2"]?["name"]?.string == "a\u{FFFD}b")
                #expect(data["3"] == ["id": .int(3), "tags": [.int(1), .int(2)]])
                #expect(data["4"] == ["id": .int(4), "x": .int(0)])
                #expect(data["5"]?["x"] == .double(Double(fraction) ?? 0))
                #expect(data["6"]?["s"]?.string == "/😀")
                #expect(data["7"]?["k"] == .int(2))
                #expect(data["8"]?["big"] == .double(12_345_678_901_234_567_890.5))
                // Kept as written (within numeric's limits): what jsonb holds, read back as Doubles.
                #expect(data["9"]?["tiny"] == .double(0) || data["9"]?["tiny"] == .int(0))
                #expect(data["9"]?["wide"] == .double(-1_234_567_890_123_456_789.012_345_678_9))
            }
        }
    }

    @Test("a full-refresh stream the API pages shorter than asked is read to its end: nothing it holds becomes a tombstone")
    func shortPagesKeepRecords() async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        for id in 1...35 { await fake.add(id: id, updatedAt: Date(), name: "Item \(id)") }
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let stream: JSON = [
                    "name": "items", "path": "/items/offset", "records_path": "/items", "primary_key": "id",
                    "pagination": ["type": "offset", "limit": 100],
                ]
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, stream: stream)
                let first = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(first.status == "succeeded", "\(first)")
                #expect(first.streams["items"]?.recordsRead == 35)
                // The API now serves at most 10 a page, whatever the limit asked for.
                await fake.capPageSize(10)
                let (_, second) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(second.status == "succeeded", "\(second)")
                #expect(second.streams["items"]?.recordsRead == 35)
                #expect(second.streams["items"]?.recordsDeleted == 0)
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.count == 35)
                #expect(records.allSatisfy { $0.deleted == false })
            }
        }
    }

    @Test("a full resync that fails retryably after its first batch starts over on its retry, not from the old cursor")
    func fullResyncRetry() async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 7200).rounded(.down))
        for id in 1...30 { await fake.add(id: id, updatedAt: base.addingTimeInterval(Double(id) * 60), name: "Item \(id)") }
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let stream: JSON = [
                    "name": "items", "path": "/items/next", "records_path": "/results", "primary_key": "id", "cursor_field": "updated_at",
                    "cursor_param": "updated_since", "pagination": ["type": "next_url", "next_url_path": "/next"],
                ]
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, stream: stream)
                let initial = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(initial.status == "succeeded", "\(initial)")
                #expect(initial.recordsTotal == 30)
                // What only a full resync finds: item 25 changed at the source without its updated_at moving.
                await fake.add(id: 25, updatedAt: base.addingTimeInterval(25 * 60), name: "Item 25 corrected")
                // The resync's first page is served, its second is not (a retryable malformed answer).
                await fake.malform(after: 1)
                let (_, run) = try await client.syncAndWait(tenant: tenant, integration: id, SyncBody(fullResync: true))
                #expect(run.status == "succeeded", "\(run)")
                #expect(run.attempt == 2)
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.first { $0.id == "25" }?.data["name"]?.string == "Item 25 corrected")
            }
        }
    }

    @Test("rest integrations take their streams from the config, validated with the field at fault")
    func restValidation() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let base = "/v1/tenants/\(tenant)/integrations"
            let bad = try await client.send(
                .post,
                base,
                body: IntegrationBody(
                    provider: "rest",
                    name: "R",
                    config: ["base_url": "http://api.test", "streams": [["name": "orders", "path": "orders", "primary_key": "id"]]]
                )
            )
            #expect(bad.status == .unprocessableContent)
            #expect(bad.errorFields == ["config.streams[0].path"])
            let streams: JSON = [
                ["name": "orders", "path": "/orders", "primary_key": "id", "cursor_field": "updated_at", "cursor_param": "since"],
                ["name": "users", "path": "/users", "primary_key": "id"],
            ]
            let good = try await client.send(
                .post,
                base,
                body: IntegrationBody(
                    provider: "rest",
                    name: "R",
                    config: ["base_url": "http://api.test", "auth": ["type": "bearer"], "streams": streams],
                    credential: .apiKey("tok")
                )
            )
            #expect(good.status == .created)
            let integration = try good.decode(IntegrationView.self)
            #expect(integration.streams == ["orders", "users"])
            let patched = try await client.send(.patch, "\(base)/\(integration.id)", body: IntegrationBody(streams: ["invoices"]))
            #expect(patched.errorFields == ["streams[0]"])
        }
    }
}
