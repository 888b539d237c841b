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
                let id = try await client.createIntegration(
                    tenant: tenant,
                    IntegrationBody(
                        provider: "klaviyo",
                        name: "K",
                        streams: ["profiles"],
                        config: ["base_url": .string("http://127.0.0.1:\(port)")],
                        credential: .apiKey("pk_live_e2e_SECRET")
                    )
                )
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
