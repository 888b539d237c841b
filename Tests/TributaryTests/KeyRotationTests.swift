import Foundation
import PostgresNIO
import Testing

@testable import Tributary

@Suite("Key rotation and the stored-key check")
struct KeyRotationTests {
    @Test("keys rotate re-seals every secret under the new key, idempotently; old data stays readable")
    func rotate() async throws {
        let database = try await TestDatabase.create()
        let secret = "pk_live_rotate_me_123456"
        let integrationPath = try await TestApp.run(database: database) { client in
            let tenant = try await client.createTenant()
            let created = try await client.createIntegration(
                tenant: tenant,
                IntegrationBody(provider: "klaviyo", name: "K", credential: .apiKey(secret))
            )
            let app = OAuthAppBody(clientID: "c", clientSecret: "keap-secret")
            #expect(try await client.send(.put, "/v1/providers/keap/oauth-app", body: app).status == .ok)
            let keapID = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "keap", name: "K"))
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(keapID)/oauth/authorize").status == .ok)
            return "/v1/tenants/\(tenant)/integrations/\(created)"
        }
        let keyIDs = "SELECT key_id FROM credentials UNION ALL SELECT key_id FROM oauth_apps UNION ALL SELECT key_id FROM oauth_states"
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k1", "k1", "k1"])

        let rotating = ChildProcess.environment(database, keys: "\(TestApp.key2),\(TestApp.key1)", logLevel: "warning")
        let rotated = try await ChildProcess.run(["keys", "rotate"], environment: rotating)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(rotated.output.contains("rewrote 3 secret(s) under key 'k2'"))
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k2", "k2", "k2"])
        let again = try await ChildProcess.run(["keys", "rotate"], environment: rotating)
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
            _ = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "klaviyo", name: "K", credential: .apiKey("pk_1")))
        }
        var environment = ChildProcess.environment(database, keys: TestApp.key2, logLevel: "warning")
        environment["PORT"] = String(try freePort())
        let result = try await ChildProcess.run(["serve"], environment: environment)
        #expect(result.status != 0)
        #expect(result.output.contains("k1"))
        #expect(result.output.contains("TRIBUTARY_ENCRYPTION_KEYS"))
    }
}
