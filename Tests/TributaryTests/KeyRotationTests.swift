import Foundation
import PostgresNIO
import Testing

@testable import Tributary

@Suite("Key rotation and the stored-key check")
struct KeyRotationTests {
    static func environment(_ database: TestDatabase, keys: String) -> [String: String] {
        [
            "DATABASE_URL": TestApp.databaseURLString(database.url),
            "TRIBUTARY_ADMIN_TOKEN": TestApp.adminToken,
            "TRIBUTARY_ENCRYPTION_KEYS": keys,
            "LOG_LEVEL": "warning",
        ]
    }

    @Test("keys rotate re-seals every secret under the new key, idempotently; old data stays readable")
    func rotate() async throws {
        let database = try await TestDatabase.create()
        let secret = "pk_live_rotate_me_123456"
        let integrationPath = try await TestApp.run(database: database) { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"klaviyo","name":"K","credential":{"type":"api_key","api_key":"\#(secret)"}}"#)
            #expect(try await client.send(.put, "/v1/providers/keap/oauth-app", json: #"{"client_id":"c","client_secret":"keap-secret"}"#).status == .ok)
            let keap = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"keap","name":"K"}"#)
            let keapID = try #require(keap.json["id"] as? String)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(keapID)/oauth/authorize").status == .ok)
            return "/v1/tenants/\(tenant)/integrations/\(try #require(created.json["id"] as? String))"
        }
        let keyIDs = "SELECT key_id FROM credentials UNION ALL SELECT key_id FROM oauth_apps UNION ALL SELECT key_id FROM oauth_states"
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k1", "k1", "k1"])

        let rotated = try await ChildProcess.run(["keys", "rotate"], environment: Self.environment(database, keys: "\(TestApp.key2),\(TestApp.key1)"))
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.output.contains("rewrote 3 secret(s) under key 'k2'"))
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k2", "k2", "k2"])
        let again = try await ChildProcess.run(["keys", "rotate"], environment: Self.environment(database, keys: "\(TestApp.key2),\(TestApp.key1)"))
        #expect(again.output.contains("rewrote 0 secret(s)"))

        // The old key can go now: everything opens with k2 alone.
        try await TestApp.run(extra: ["tributary.encryption.keys": .init(.string(TestApp.key2), isSecret: true)], database: database) { client in
            let integration = try await client.send(.get, integrationPath)
            #expect(integration.status == .ok)
            let id = try #require(UUID(uuidString: integrationPath.components(separatedBy: "/").last ?? ""))
            try await TestServices.with(client.config, logger: client.logger) { services in
                let stored = try #require(try await services.store.storedCredential(integrationID: id))
                #expect(try services.flow.vault.open(stored) == .apiKey(secret))
            }
        }
    }

    @Test("the server refuses to start when stored secrets name a key it lacks, and says which")
    func refusesUnknownKeys() async throws {
        let database = try await TestDatabase.create()
        try await TestApp.run(database: database) { client in
            let tenant = try await client.createTenant()
            #expect(try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"klaviyo","name":"K","credential":{"type":"api_key","api_key":"pk_1"}}"#).status == .created)
        }
        var environment = Self.environment(database, keys: TestApp.key2)
        environment["PORT"] = String(try freePort())
        let result = try await ChildProcess.run(["serve"], environment: environment)
        #expect(result.status != 0)
        #expect(result.output.contains("k1"))
        #expect(result.output.contains("TRIBUTARY_ENCRYPTION_KEYS"))
    }
}

/// A fixed SQL text as a query (tests only: no values to bind).
func PostgresQueryText(_ text: String) -> PostgresQuery {
    PostgresQuery(unsafeSQL: text)
}
