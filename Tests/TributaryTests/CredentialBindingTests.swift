import Fakes
import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import Testing

@testable import Tributary

/// A leaked tenant key must not be enough to read a "write-only" credential by pointing the
/// integration at a host of one's own: a credential is bound to where it was given for.
@Suite("Credentials are bound to their origin and auth placement")
struct CredentialBindingTests {
    /// A host that notes every request's headers and query: an attacker's, or a misconfigured one.
    final class Listener: Sendable {
        let seen = NIOLockedValueBox<[String]>([])

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.get("**") { request, _ -> Response in
                let headers = request.headers.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
                self.seen.withLockedValue { $0.append("\(request.uri.description) \(headers)") }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "[]")))
            }
            return router
        }

        func saw(_ secret: String) -> Bool { seen.withLockedValue { $0.contains { $0.contains(secret) } } }
        var requests: Int { seen.withLockedValue { $0.count } }
    }

    static let secret = "sk_live_BOUND_" + TestApp.randomBase64(bytes: 12)

    static func restConfig(port: Int, auth: JSON = ["type": "api_key_header", "header": "X-Api-Key"]) -> [String: JSON] {
        ["base_url": .string("http://127.0.0.1:\(port)"), "auth": auth, "streams": [["name": "items", "path": "/items/plain", "primary_key": "id"]]]
    }

    static func create(_ client: TestClient, tenant: String, port: Int) async throws -> String {
        try await client.createIntegration(
            tenant: tenant,
            IntegrationBody(provider: "rest", name: "Bound", config: restConfig(port: port), credential: .apiKey(secret))
        )
    }

    @Test("moving base_url to another host without a new key drops the key, and nothing is sent there")
    func baseURLChangeDropsTheKey() async throws {
        let attacker = Listener()
        try await withFakeServer(attacker.router) { attackerPort in
            try await withFakeServer(FakeJSONAPI(auth: .header(name: "X-Api-Key", value: Self.secret)).router) { providerPort in
                try await TestApp.run { client in
                    let tenant = try await client.createTenant()
                    let (_, key) = try await client.createKey(tenant: tenant)
                    let id = try await Self.create(client, tenant: tenant, port: providerPort)
                    let path = "/v1/tenants/\(tenant)/integrations/\(id)"
                    #expect(try await client.send(.post, "\(path)/check", as: .token(key)).decode(CheckView.self).ok)

                    let moved = try await client.send(
                        .patch,
                        path,
                        as: .token(key),
                        body: IntegrationBody(config: Self.restConfig(port: attackerPort))
                    )
                    #expect(moved.status == .ok)
                    let integration = try moved.decode(IntegrationView.self)
                    #expect(integration.credential == nil)
                    #expect(moved.raw["credential"] == .null)
                    #expect(integration.status == "pending_authorization")

                    // A check or a sync now has no key to send; the attacker's host sees none.
                    let check = try await client.send(.post, "\(path)/check", as: .token(key)).decode(CheckView.self)
                    #expect(!attacker.saw(Self.secret))
                    _ = check
                    #expect(try await client.send(.post, "\(path)/syncs", as: .token(key)).status == .conflict)
                    let activity = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(id)")
                        .decode(ListOf<ActivityView>.self).data
                    let cleared = try #require(activity.first { $0.action == "credential.cleared" })
                    #expect(cleared.details["reason"] == "base_url_changed")
                    #expect(!String(decoding: try await client.database.dump().utf8, as: UTF8.self).contains(Self.secret))
                    #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
                }
            }
        }
    }

    @Test("moving the key from a header to the query without a new key drops it too")
    func placementChangeDropsTheKey() async throws {
        let listener = Listener()
        try await withFakeServer(listener.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let id = try await Self.create(client, tenant: tenant, port: port)
                let path = "/v1/tenants/\(tenant)/integrations/\(id)"
                let moved = try await client.send(
                    .patch,
                    path,
                    body: IntegrationBody(config: Self.restConfig(port: port, auth: ["type": "api_key_query", "param": "key"]))
                )
                #expect(try moved.decode(IntegrationView.self).credential == nil)
                _ = try await client.send(.post, "\(path)/check")
                #expect(!listener.saw(Self.secret))
                let activity = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=credential.cleared")
                    .decode(ListOf<ActivityView>.self).data
                #expect(activity.map { $0.details["reason"] } == ["auth_changed"])
            }
        }
    }

    @Test("a new key given with the move is kept, and a change that moves nothing keeps the old one")
    func newKeyWithTheMove() async throws {
        try await withFakeServer(FakeJSONAPI(auth: .header(name: "X-Api-Key", value: "sk_new_key")).router) { newPort in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let id = try await Self.create(client, tenant: tenant, port: newPort + 1)
                let path = "/v1/tenants/\(tenant)/integrations/\(id)"
                let before = try await client.send(.get, path).decode(IntegrationView.self)
                let renamed = try await client.send(.patch, path, body: IntegrationBody(name: "Renamed", syncFrequencyMinutes: 60))
                #expect(try renamed.decode(IntegrationView.self).credential?.fingerprint == before.credential?.fingerprint)

                let moved = try await client.send(
                    .patch,
                    path,
                    body: IntegrationBody(config: Self.restConfig(port: newPort), credential: .apiKey("sk_new_key"))
                )
                let after = try moved.decode(IntegrationView.self)
                #expect(after.status == "active")
                #expect(after.credential != nil)
                #expect(after.credential?.fingerprint != before.credential?.fingerprint)
                #expect(try await client.send(.post, "\(path)/check").decode(CheckView.self).ok)
                let oauthKey = try await client.send(
                    .patch,
                    path,
                    body: IntegrationBody(credential: CredentialBody(type: "oauth2", apiKey: "x"))
                )
                #expect(oauthKey.status == .unprocessableContent)
            }
        }
    }

    @Test("a credential row pointed at another origin behind the API's back does not open, and is not sent")
    func tamperedBindingIsRefused() async throws {
        let listener = Listener()
        try await withFakeServer(listener.router) { attackerPort in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let id = try await Self.create(client, tenant: tenant, port: attackerPort + 1)
                // Both the config and the binding column now name the attacker's host: the sealed
                // box's authenticated data still names the original one.
                _ = try await client.database.rows(
                    PostgresQueryText(
                        """
                        UPDATE credentials SET bound_origin = 'http://127.0.0.1:\(attackerPort)' WHERE integration_id = '\(id)' RETURNING 1
                        """
                    ),
                    as: Int.self
                )
                _ = try await client.database.rows(
                    PostgresQueryText(
                        """
                        UPDATE integrations SET config = jsonb_set(config, '{base_url}', '"http://127.0.0.1:\(attackerPort)"')
                        WHERE id = '\(id)' RETURNING 1
                        """
                    ),
                    as: Int.self
                )
                let check = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/check").decode(CheckView.self)
                #expect(!check.ok)
                #expect(check.error?.code == "credential_unreadable")
                #expect(listener.requests == 0)
            }
        }
    }
}
