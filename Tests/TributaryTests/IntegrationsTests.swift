import Foundation
import HTTPTypes
import Testing

@testable import Tributary

@Suite("Integrations API")
struct IntegrationsTests {
    @Test("a demo integration needs no credential and is active, its first sync due at once")
    func demo() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let reply = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"demo","name":"Demo"}"#)
            #expect(reply.status == .created)
            #expect(reply.json["status"] as? String == "active")
            #expect(reply.json["streams"] as? [String] == ["contacts", "events", "lists"])
            #expect(reply.json["sync_frequency_minutes"] as? Int == 360)
            #expect(reply.json["credential"] is NSNull)
            #expect(reply.json["last_sync"] is NSNull)
            #expect(reply.json["next_sync_at"] is String)
            #expect((reply.json["config"] as? [String: Any])?["records_per_run"] as? Int == 100)
            #expect(reply.json["tenant_id"] as? String == tenant)
        }
    }

    @Test("an API-key credential is write-only: answers show type and fingerprint, never the key")
    func apiKeyCredential() async throws {
        let logs = LogCapture()
        try await TestApp.run(logs: logs) { client in
            let tenant = try await client.createTenant()
            let secret = "pk_live_0123456789abcdefSECRET"
            let reply = try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"klaviyo","name":"Main Klaviyo","streams":["profiles","events"],"sync_frequency_minutes":60,"config":{"base_url":"http://127.0.0.1:9101"},"credential":{"type":"api_key","api_key":"\#(secret)"}}"#)
            #expect(reply.status == .created)
            let credential = try #require(reply.json["credential"] as? [String: Any])
            #expect(credential["type"] as? String == "api_key")
            #expect((credential["fingerprint"] as? String)?.hasPrefix("fp_") == true)
            #expect(credential["expires_at"] is NSNull)
            #expect((reply.json["config"] as? [String: Any])?["historical_sync_days"] as? Int == 90)
            #expect((reply.json["config"] as? [String: Any])?["base_url"] as? String == "http://127.0.0.1:9101")
            let id = try #require(reply.json["id"] as? String)

            let newSecret = "pk_live_rotated_SECRET_999"
            let put = try await client.send(
                .put, "/v1/tenants/\(tenant)/integrations/\(id)/credential", json: #"{"type":"api_key","api_key":"\#(newSecret)"}"#)
            #expect(put.status == .ok)
            #expect((put.json["credential"] as? [String: Any])?["fingerprint"] as? String != credential["fingerprint"] as? String)

            let everything = [
                reply.body, put.body,
                try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").body,
                try await client.send(.get, "/v1/tenants/\(tenant)/integrations").body,
                try await client.send(.get, "/v1/tenants/\(tenant)/activity").body,
            ].map { String(decoding: $0, as: UTF8.self) }.joined() + logs.text
            #expect(!everything.contains(secret))
            #expect(!everything.contains(newSecret))
            #expect(!everything.contains("pk_live"))
            let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity").decode(ListOf<ActivityEntry>.self).data.map(\.action.rawValue)
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
            let demo = try #require(try await client.send(.post, base, json: #"{"provider":"demo","name":"D"}"#).json["id"] as? String)
            let oauth = try await client.send(.post, base, json: #"{"provider":"keap","name":"K"}"#)
            #expect(oauth.json["status"] as? String == "pending_authorization")
            #expect(oauth.json["next_sync_at"] is NSNull)

            #expect((try await client.send(.get, "\(base)?provider=keap").json["data"] as? [Any])?.count == 1)
            #expect((try await client.send(.get, "\(base)?status=active").json["data"] as? [Any])?.count == 1)
            #expect((try await client.send(.get, "\(base)?limit=1").json["data"] as? [Any])?.count == 1)
            #expect(try await client.send(.get, "\(base)?status=sleeping").status == .badRequest)

            let paused = try await client.send(.patch, "\(base)/\(demo)", json: #"{"status":"paused","sync_frequency_minutes":30,"streams":["events"]}"#)
            #expect(paused.status == .ok)
            #expect(paused.json["status"] as? String == "paused")
            #expect(paused.json["next_sync_at"] is NSNull)
            #expect(paused.json["streams"] as? [String] == ["events"])
            let resumed = try await client.send(.patch, "\(base)/\(demo)", json: #"{"status":"active"}"#)
            #expect(resumed.json["next_sync_at"] is String)
            #expect(try await client.send(.patch, "\(base)/\(demo)", json: #"{"status":"failing"}"#).status == .unprocessableContent)
            #expect(try await client.send(.patch, "\(base)/\(demo)", json: #"{}"#).status == .unprocessableContent)
            let keapID = try #require(oauth.json["id"] as? String)
            #expect(try await client.send(.patch, "\(base)/\(keapID)", json: #"{"status":"active"}"#).status == .conflict)

            #expect(try await client.send(.delete, "\(base)/\(demo)").status == .noContent)
            #expect(try await client.send(.get, "\(base)/\(demo)").status == .notFound)
            let log = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(demo)").decode(ListOf<ActivityEntry>.self)
            #expect(log.data.map(\.action.rawValue) == ["integration.deleted", "integration.updated", "integration.updated", "integration.created"])
            #expect(log.data[2].details["changed"] == ["streams", "sync_frequency_minutes", "status"])
        }
    }

    @Test("another tenant's integrations answer 404")
    func isolation() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant("Acme")
            let globex = try await client.createTenant("Globex")
            let (_, acmeKey) = try await client.createKey(tenant: acme)
            let theirs = try #require(
                try await client.send(.post, "/v1/tenants/\(globex)/integrations", json: #"{"provider":"demo","name":"G"}"#).json["id"] as? String)
            let mine = try await client.send(.post, "/v1/tenants/\(acme)/integrations", as: .token(acmeKey), json: #"{"provider":"demo","name":"A"}"#)
            #expect(mine.status == .created)
            for (method, path) in [(HTTPRequest.Method.get, "/v1/tenants/\(globex)/integrations/\(theirs)"),
                                   (.get, "/v1/tenants/\(globex)/integrations"),
                                   (.delete, "/v1/tenants/\(globex)/integrations/\(theirs)"),
                                   (.get, "/v1/tenants/\(acme)/integrations/\(theirs)"),
                                   (.delete, "/v1/tenants/\(acme)/integrations/\(theirs)")] {
                #expect(try await client.send(method, path, as: .token(acmeKey)).status == .notFound, "\(method) \(path)")
            }
            #expect(try await client.send(.put, "/v1/tenants/\(acme)/integrations/\(theirs)/credential", as: .token(acmeKey),
                                          json: #"{"type":"api_key","api_key":"x"}"#).status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/\(globex)/integrations/\(theirs)").status == .ok)
        }
    }
}
