import Foundation
import HTTPTypes
import Testing

@Suite("Integrations API")
struct IntegrationsTests {
    @Test("a demo integration needs no credential and is active, its first sync due at once")
    func demo() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let reply = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", body: IntegrationBody(provider: "demo", name: "Demo"))
            #expect(reply.status == .created)
            let integration = try reply.decode(IntegrationView.self)
            #expect(integration.status == "active")
            #expect(integration.streams == ["contacts", "events", "lists"])
            #expect(integration.syncFrequencyMinutes == 360)
            #expect(reply.raw["credential"] == .null)
            #expect(reply.raw["last_sync"] == .null)
            #expect(integration.nextSyncAt != nil)
            #expect(integration.config["records_per_run"] == 100)
            #expect(integration.tenantID == tenant)
        }
    }

    @Test("an API-key credential is write-only: answers show type and fingerprint, never the key")
    func apiKeyCredential() async throws {
        let logs = LogCapture()
        try await TestApp.run(logs: logs) { client in
            let tenant = try await client.createTenant()
            let secret = "pk_live_0123456789abcdefSECRET"
            let reply = try await client.send(
                .post,
                "/v1/tenants/\(tenant)/integrations",
                body: IntegrationBody(
                    provider: "klaviyo",
                    name: "Main Klaviyo",
                    streams: ["profiles", "events"],
                    syncFrequencyMinutes: 60,
                    config: ["base_url": "http://127.0.0.1:9101"],
                    credential: .apiKey(secret)
                )
            )
            #expect(reply.status == .created)
            let integration = try reply.decode(IntegrationView.self)
            let credential = try #require(integration.credential)
            #expect(credential.type == "api_key")
            #expect(credential.fingerprint.hasPrefix("fp_"))
            #expect(reply.raw["credential"]?["expires_at"] == .null)
            #expect(integration.config["historical_sync_days"] == 90)
            #expect(integration.config["base_url"] == "http://127.0.0.1:9101")
            let id = integration.id

            let newSecret = "pk_live_rotated_SECRET_999"
            let put = try await client.send(.put, "/v1/tenants/\(tenant)/integrations/\(id)/credential", body: CredentialBody.apiKey(newSecret))
            #expect(put.status == .ok)
            #expect(try put.decode(IntegrationView.self).credential?.fingerprint != credential.fingerprint)

            let everything =
                [
                    reply.body, put.body,
                    try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").body,
                    try await client.send(.get, "/v1/tenants/\(tenant)/integrations").body,
                    try await client.send(.get, "/v1/tenants/\(tenant)/activity").body,
                ].map { String(decoding: $0, as: UTF8.self) }.joined() + logs.text
            #expect(!everything.contains(secret))
            #expect(!everything.contains(newSecret))
            #expect(!everything.contains("pk_live"))
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity").decode(ListOf<ActivityView>.self).data.map(\.action)
            #expect(actions.prefix(2) == ["credential.updated", "integration.created"])
        }
    }

    @Test("every invalid field answers 422 naming it")
    func validation() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let cases: [(String, [String])] = [
                (#"{"provider":"nope","name":"X"}"#, ["provider"]),
                (#"{"name":"X"}"#, ["provider"]),
                (#"{"provider":"demo","name":""}"#, ["name"]),
                (#"{"provider":"demo","name":"X","sync_frequency_minutes":10}"#, ["sync_frequency_minutes"]),
                (#"{"provider":"demo","name":"X","sync_frequency_minutes":1441}"#, ["sync_frequency_minutes"]),
                (#"{"provider":"demo","name":"X","streams":["contacts","bogus"]}"#, ["streams[1]"]),
                (#"{"provider":"demo","name":"X","streams":[]}"#, ["streams"]),
                (#"{"provider":"demo","name":"X","config":{"records_per_run":-1}}"#, ["config.records_per_run"]),
                (#"{"provider":"demo","name":"X","config":{"surprise":1}}"#, ["config.surprise"]),
                (#"{"provider":"klaviyo","name":"X","config":{"base_url":"ftp://x"}}"#, ["config.base_url"]),
                (#"{"provider":"klaviyo","name":"X","config":{"historical_sync_days":"ninety"}}"#, ["config.historical_sync_days"]),
                (#"{"provider":"klaviyo","name":"X","credential":{"type":"api_key"}}"#, ["credential.api_key"]),
                (#"{"provider":"klaviyo","name":"X","credential":{"type":"password","api_key":"x"}}"#, ["credential.type"]),
                (#"{"provider":"demo","name":"X","credential":{"type":"api_key","api_key":"x"}}"#, ["credential.type"]),
                (#"{"provider":"demo","name":"X","config":"big"}"#, ["config"]),
                // An API key goes into a header: no control character, wherever it is.
                (#"{"provider":"klaviyo","name":"X","credential":{"type":"api_key","api_key":"pk_\u0001x"}}"#, ["credential.api_key"]),
                (#"{"provider":"klaviyo","name":"X","credential":{"type":"api_key","api_key":"pk\r\nHost: evil"}}"#, ["credential.api_key"]),
                (
                    #"{"provider":"klaviyo","name":"X","credential":{"type":"api_key","api_key":"pk\#(String(repeating: " ", count: 4096))"}}"#,
                    ["credential.api_key"]
                ),
            ]
            for (body, fields) in cases {
                let reply = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(reply.errorFields == fields, "\(body) → \(reply.errorFields)")
            }
            #expect(try await client.database.rows("SELECT count(*) FROM integrations", as: Int.self) == [0])
        }
    }

    @Test("list filters by provider and status; patch, pause and delete are logged")
    func listPatchDelete() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let base = "/v1/tenants/\(tenant)/integrations"
            let demo = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D"))
            let oauthReply = try await client.send(.post, base, body: IntegrationBody(provider: "keap", name: "K"))
            let oauth = try oauthReply.decode(IntegrationView.self)
            #expect(oauth.status == "pending_authorization")
            #expect(oauthReply.raw["next_sync_at"] == .null)

            #expect(try await client.send(.get, "\(base)?provider=keap").decode(ListOf<IntegrationView>.self).data.count == 1)
            #expect(try await client.send(.get, "\(base)?status=active").decode(ListOf<IntegrationView>.self).data.count == 1)
            #expect(try await client.send(.get, "\(base)?limit=1").decode(ListOf<IntegrationView>.self).data.count == 1)
            #expect(try await client.send(.get, "\(base)?status=sleeping").status == .badRequest)

            let paused = try await client.send(
                .patch,
                "\(base)/\(demo)",
                body: IntegrationBody(streams: ["events"], syncFrequencyMinutes: 30, status: "paused")
            )
            #expect(paused.status == .ok)
            #expect(try paused.decode(IntegrationView.self).status == "paused")
            #expect(try paused.decode(IntegrationView.self).pausedReason == "manual")
            #expect(paused.raw["next_sync_at"] == .null)
            #expect(try paused.decode(IntegrationView.self).streams == ["events"])
            let resumed = try await client.send(.patch, "\(base)/\(demo)", body: IntegrationBody(status: "active"))
            #expect(try resumed.decode(IntegrationView.self).nextSyncAt != nil)
            #expect(resumed.raw["paused_reason"] == .null)
            #expect(try await client.send(.patch, "\(base)/\(demo)", body: IntegrationBody(status: "failing")).status == .unprocessableContent)
            #expect(try await client.send(.patch, "\(base)/\(demo)", body: IntegrationBody()).status == .unprocessableContent)
            #expect(try await client.send(.patch, "\(base)/\(oauth.id)", body: IntegrationBody(status: "active")).status == .conflict)

            #expect(try await client.send(.delete, "\(base)/\(demo)").status == .noContent)
            #expect(try await client.send(.get, "\(base)/\(demo)").status == .notFound)
            let log = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(demo)").decode(ListOf<ActivityView>.self)
            #expect(log.data.map(\.action) == ["integration.deleted", "integration.updated", "integration.updated", "integration.created"])
            #expect(log.data[2].details["changed"] == ["streams", "sync_frequency_minutes", "status"])
        }
    }

    @Test("another tenant's integrations answer 404")
    func isolation() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant("Acme")
            let globex = try await client.createTenant("Globex")
            let (_, acmeKey) = try await client.createKey(tenant: acme)
            let theirs = try await client.createIntegration(tenant: globex, IntegrationBody(provider: "demo", name: "G"))
            let mine = try await client.send(
                .post,
                "/v1/tenants/\(acme)/integrations",
                as: .token(acmeKey),
                body: IntegrationBody(provider: "demo", name: "A")
            )
            #expect(mine.status == .created)
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/tenants/\(globex)/integrations/\(theirs)"),
                (.get, "/v1/tenants/\(globex)/integrations"),
                (.delete, "/v1/tenants/\(globex)/integrations/\(theirs)"),
                (.get, "/v1/tenants/\(acme)/integrations/\(theirs)"),
                (.delete, "/v1/tenants/\(acme)/integrations/\(theirs)"),
            ] {
                #expect(try await client.send(method, path, as: .token(acmeKey)).status == .notFound, "\(method) \(path)")
            }
            #expect(
                try await client.send(
                    .put,
                    "/v1/tenants/\(acme)/integrations/\(theirs)/credential",
                    as: .token(acmeKey),
                    body: CredentialBody.apiKey("x")
                ).status == .notFound
            )
            #expect(try await client.send(.get, "/v1/tenants/\(globex)/integrations/\(theirs)").status == .ok)
        }
    }
}
