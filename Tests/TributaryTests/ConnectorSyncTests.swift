import Fakes
import Foundation
import HTTPTypes
import Testing

@testable import Tributary
import TributaryConnectors

@Suite("Connectors through the sync engine")
struct ConnectorSyncTests {
    @Test("a Klaviyo integration syncs from the provider with its sealed key; check answers ok or why not")
    func klaviyoEndToEnd() async throws {
        let fake = FakeKlaviyo(apiKey: "pk_live_e2e_SECRET")
        for index in 0..<30 {
            await fake.add(type: "profile", id: "P\(index)", attributes: ["email": .string("p\(index)@x.test"), "updated": .string(Timestamps.format(Date(timeIntervalSinceNow: -Double(index) * 60)))])
        }
        let logs = LogCapture()
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(logs: logs, worker: true) { client in
                let tenant = try await client.createTenant()
                let created = try await client.send(
                    .post, "/v1/tenants/\(tenant)/integrations",
                    json: #"{"provider":"klaviyo","name":"K","streams":["profiles"],"config":{"base_url":"http://127.0.0.1:\#(port)"},"credential":{"type":"api_key","api_key":"pk_live_e2e_SECRET"}}"#)
                let id = try #require(created.json["id"] as? String)
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run["status"] as? String == "succeeded", "\(run)")
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.count == 30)
                #expect((records.first?["data"] as? [String: Any])?["type"] as? String == "profile")

                #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/check").json["ok"] as? Bool == true)
                #expect(try await client.send(.put, "/v1/tenants/\(tenant)/integrations/\(id)/credential",
                                              json: #"{"type":"api_key","api_key":"pk_wrong"}"#).status == .ok)
                let refused = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/check")
                #expect(refused.json["ok"] as? Bool == false)
                #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "credential_rejected")
                #expect(!logs.text.contains("pk_live_e2e_SECRET"))
            }
        }
    }

    @Test("rest integrations take their streams from the config, validated with the field at fault")
    func restValidation() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let bad = try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"rest","name":"R","config":{"base_url":"http://api.test","streams":[{"name":"orders","path":"orders","primary_key":"id"}]}}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(bad.errorFields == ["config.streams[0].path"])
            let good = try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"rest","name":"R","config":{"base_url":"http://api.test","auth":{"type":"bearer"},"streams":[{"name":"orders","path":"/orders","primary_key":"id","cursor_field":"updated_at","cursor_param":"since"},{"name":"users","path":"/users","primary_key":"id"}]},"credential":{"type":"api_key","api_key":"tok"}}"#)
            #expect(good.status == .created)
            #expect(good.json["streams"] as? [String] == ["orders", "users"])
            let id = try #require(good.json["id"] as? String)
            #expect(try await client.send(.patch, "/v1/tenants/\(tenant)/integrations/\(id)", json: #"{"streams":["invoices"]}"#).errorFields == ["streams[0]"])
        }
    }
}
