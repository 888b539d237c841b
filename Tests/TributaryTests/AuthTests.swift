import Foundation
import HTTPTypes
import Testing

@testable import Tributary

@Suite("Authentication and tenant isolation")
struct AuthTests {
    @Test("a missing, malformed or unknown token answers 401 with a problem")
    func rejectsBadTokens() async throws {
        try await TestApp.run { client in
            for auth in [
                TestClient.Auth.none, .header("Basic abc"), .header("Bearer"), .token("nope"),
                .token("trb_" + String(repeating: "A", count: 40)),
            ] {
                let reply = try await client.send(.get, "/v1/providers", as: auth)
                #expect(reply.status == .unauthorized)
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.headers[.wwwAuthenticate] == "Bearer")
                let problem = try reply.decode(ProblemView.self)
                #expect(problem.status == 401)
                #expect(problem.type == "https://tributary.dev/problems/unauthorized")
            }
        }
    }

    @Test("a tenant key acts inside its tenant; another tenant's resources answer 404")
    func tenantIsolation() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant("Acme")
            let globex = try await client.createTenant("Globex")
            let (_, acmeKey) = try await client.createKey(tenant: acme)
            let (globexKeyID, _) = try await client.createKey(tenant: globex)

            #expect(try await client.send(.get, "/v1/tenants/\(acme)", as: .token(acmeKey)).status == .ok)
            #expect(try await client.send(.get, "/v1/tenants/\(acme)/api-keys", as: .token(acmeKey)).status == .ok)
            #expect(try await client.send(.get, "/v1/tenants/\(acme)/activity", as: .token(acmeKey)).status == .ok)

            // Another tenant: exactly as if it did not exist.
            let missing = UUID().uuidString.lowercased()
            for path in ["/v1/tenants/\(globex)", "/v1/tenants/\(globex)/api-keys", "/v1/tenants/\(globex)/activity"] {
                let theirs = try await client.send(.get, path, as: .token(acmeKey))
                let nobodys = try await client.send(.get, path.replacingOccurrences(of: globex, with: missing), as: .token(acmeKey))
                #expect(theirs.status == .notFound)
                #expect(try theirs.decode(ProblemView.self).detail == nobodys.decode(ProblemView.self).detail)
            }
            #expect(try await client.send(.delete, "/v1/tenants/\(globex)/api-keys/\(globexKeyID)", as: .token(acmeKey)).status == .notFound)
            #expect(try await client.send(.post, "/v1/tenants/\(globex)/api-keys", as: .token(acmeKey), body: KeyBody(name: "x")).status == .notFound)
            // Admin-only operations answer 403 whoever's ids they name.
            #expect(try await client.send(.patch, "/v1/tenants/\(globex)", as: .token(acmeKey), body: TenantBody(name: "x")).status == .forbidden)
            #expect(try await client.send(.delete, "/v1/tenants/\(globex)", as: .token(acmeKey)).status == .forbidden)
            // The other tenant's key still works: nothing was revoked.
            #expect(try await client.send(.get, "/v1/tenants/\(globex)/api-keys").decode(ListOf<APIKeyView>.self).data.count == 1)
        }
    }

    @Test("tenant keys cannot create, list, change or delete tenants")
    func tenantKeysAreNotAdmins() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (_, key) = try await client.createKey(tenant: acme)
            #expect(try await client.send(.post, "/v1/tenants", as: .token(key), body: TenantBody(name: "Evil")).status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants", as: .token(key)).status == .forbidden)
            #expect(try await client.send(.patch, "/v1/tenants/\(acme)", as: .token(key), body: TenantBody(name: "New")).status == .forbidden)
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)", as: .token(key)).status == .forbidden)
            #expect(try await client.send(.get, "/v1/tenants/\(acme)").decode(TenantView.self).name == "Acme")
        }
    }

    @Test("a revoked key answers 401 from then on; use is recorded in last_used_at")
    func revocation() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (keyID, key) = try await client.createKey(tenant: acme)
            let before = try await client.send(.get, "/v1/tenants/\(acme)/api-keys")
            #expect(before.raw["data"]?[0]?["last_used_at"] == .null)

            #expect(try await client.send(.get, "/v1/providers", as: .token(key)).status == .ok)
            let used = try await client.send(.get, "/v1/tenants/\(acme)/api-keys")
            #expect(try used.decode(ListOf<APIKeyView>.self).data.first?.lastUsedAt != nil)

            #expect(try await client.send(.delete, "/v1/tenants/\(acme)/api-keys/\(keyID)").status == .noContent)
            #expect(try await client.send(.get, "/v1/providers", as: .token(key)).status == .unauthorized)
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)/api-keys/\(keyID)").status == .notFound)
            let after = try await client.send(.get, "/v1/tenants/\(acme)/api-keys")
            #expect(try after.decode(ListOf<APIKeyView>.self).data.isEmpty)
        }
    }

    @Test("keys are stored only as a hash; the secret appears once")
    func keysStoredHashed() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (_, key) = try await client.createKey(tenant: acme)
            #expect(APIKeySecret.looksLikeKey(key))
            let stored = try await client.database.rows("SELECT prefix || ':' || encode(key_hash, 'hex') FROM api_keys", as: String.self)
            #expect(stored.count == 1)
            #expect(!stored[0].contains(key))
            #expect(stored[0].hasPrefix(String(key.prefix(12)) + ":"))
            let listing = try await client.send(.get, "/v1/tenants/\(acme)/api-keys")
            #expect(!String(decoding: listing.body, as: UTF8.self).contains(key))
            #expect(listing.raw["data"]?[0]?["key"] == nil)
        }
    }

    @Test("deleting a tenant removes its keys: they answer 401")
    func deleteCascades() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (_, key) = try await client.createKey(tenant: acme)
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)").status == .noContent)
            #expect(try await client.send(.get, "/v1/tenants/\(acme)").status == .notFound)
            #expect(try await client.send(.get, "/v1/providers", as: .token(key)).status == .unauthorized)
            #expect(try await client.database.rows("SELECT count(*) FROM activity", as: Int.self) == [0])
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)").status == .notFound)
        }
    }

    @Test("a key revoked by another server process stops working here within the key cache's lifetime")
    func revocationElsewhere() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (keyID, key) = try await client.createKey(tenant: acme)
            #expect(try await client.send(.get, "/v1/providers", as: .token(key)).status == .ok)
            // What `DELETE …/api-keys/{id}` through another `serve` process leaves: this process
            // was not told.
            let revoked = try await client.database.rows(
                PostgresQueryText("UPDATE api_keys SET revoked_at = now() WHERE id = '\(keyID.lowercased)' RETURNING 1"),
                as: Int.self
            )
            #expect(revoked == [1])
            try await Task.sleep(for: KeyCache().lifetime + .milliseconds(100))
            #expect(try await client.send(.get, "/v1/providers", as: .token(key)).status == .unauthorized)
        }
    }

    @Test("the key cache answers only for the whole token's digest, and stays within its capacity")
    func keyCache() {
        let cache = KeyCache(lifetime: .seconds(60), capacity: 3)
        let tenant = UUID()
        let key = UUID()
        cache.store(prefix: "trb_aaaaaaaa", keyID: key, tenantID: tenant, hash: APIKeySecret.hash("trb_aaaaaaaa-one"))
        #expect(cache.key(prefix: "trb_aaaaaaaa", hash: APIKeySecret.hash("trb_aaaaaaaa-one"))?.keyID == key)
        #expect(cache.key(prefix: "trb_aaaaaaaa", hash: APIKeySecret.hash("trb_aaaaaaaa-two")) == nil)
        for index in 0..<5 {
            cache.store(prefix: "trb_\(index)", keyID: UUID(), tenantID: UUID(), hash: APIKeySecret.hash("\(index)"))
        }
        #expect(cache.count <= 3)
        cache.store(prefix: "trb_bbbbbbbb", keyID: key, tenantID: tenant, hash: APIKeySecret.hash("b"))
        cache.drop(tenantID: tenant)
        #expect(cache.key(prefix: "trb_bbbbbbbb", hash: APIKeySecret.hash("b")) == nil)
        let expired = KeyCache(lifetime: .zero)
        expired.store(prefix: "trb_cccccccc", keyID: key, tenantID: tenant, hash: APIKeySecret.hash("c"))
        #expect(expired.key(prefix: "trb_cccccccc", hash: APIKeySecret.hash("c")) == nil)
    }
}
