import AsyncHTTPClient
import Fakes
import Foundation
import HTTPTypes
import Logging
import Testing

@testable import Tributary

@Suite("OAuth 2.0: PKCE authorization, refresh, rotation, reauthorization")
struct OAuthTests {
    /// Configures the fake as Klaviyo's OAuth app and connects one integration through the whole
    /// authorize → provider → callback path; returns the integration's path and id.
    static func connect(_ client: TestClient, provider: FakeOAuthProvider, port: Int, tenant: String) async throws -> (path: String, id: String) {
        let app = try await client.send(
            .put, "/v1/providers/klaviyo/oauth-app",
            json: #"{"client_id":"client-123","client_secret":"s3cr3t-client","scopes":["profiles:read","events:read"],"authorize_url":"http://127.0.0.1:\#(port)/oauth/authorize","token_url":"http://127.0.0.1:\#(port)/oauth/token"}"#)
        #expect(app.status == .ok)
        #expect(app.json["client_secret"] == nil)
        #expect(!String(decoding: app.body, as: UTF8.self).contains("s3cr3t-client"))

        let created = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"klaviyo","name":"K"}"#)
        #expect(created.json["status"] as? String == "pending_authorization")
        let id = try #require(created.json["id"] as? String)
        let path = "/v1/tenants/\(tenant)/integrations/\(id)"

        let authorization = try await client.send(.post, "\(path)/oauth/authorize")
        #expect(authorization.status == .ok)
        let url = try #require(authorization.json["authorize_url"] as? String)
        let state = try #require(authorization.json["state"] as? String)
        let query = Dictionary(uniqueKeysWithValues: (URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["redirect_uri"] == "http://127.0.0.1:8080/v1/oauth/callback")
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["scope"] == "profiles:read events:read")
        #expect(query["state"] == state)

        // The person approves at the provider, which redirects back with a code.
        let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let approval: HTTPClientResponse
        do {
            approval = try await browser.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            try await browser.shutdown()
        } catch {
            try await browser.shutdown()
            throw error
        }
        #expect(approval.status == .found)
        let location = try #require(approval.headers.first(name: "Location").flatMap(URLComponents.init(string:)))
        let callback = "/v1/oauth/callback?" + (location.percentEncodedQuery ?? "")
        let connected = try await client.send(.get, callback, as: .none)
        #expect(connected.status == .ok, "\(String(decoding: connected.body, as: UTF8.self))")
        #expect(connected.json["integration_id"] as? String == id)
        #expect(connected.json["status"] as? String == "active")

        let reused = try await client.send(.get, callback, as: .none)
        #expect(reused.status == .badRequest)
        return (path, id)
    }

    @Test("authorize, callback, refresh ahead of expiry and on 401, rotation, then invalid_grant")
    func fullPath() async throws {
        let logs = LogCapture()
        let provider = FakeOAuthProvider()
        try await withFakeServer(provider.router) { port in
            try await TestApp.run(logs: logs) { client in
                let tenant = try await client.createTenant()
                let (path, id) = try await Self.connect(client, provider: provider, port: port, tenant: tenant)
                let integrationID = try #require(UUID(uuidString: id))
                let integration = try await client.send(.get, path)
                #expect((integration.json["credential"] as? [String: Any])?["type"] as? String == "oauth2")
                #expect((integration.json["credential"] as? [String: Any])?["expires_at"] is String)
                #expect(integration.json["next_sync_at"] is String)
                #expect(await provider.tokenRequests == 1)

                try await TestServices.with(client.config, logger: client.logger) { services in
                    // Fresh token: no refresh.
                    let first = try await services.refresher.accessToken(integrationID: integrationID)
                    #expect(await provider.isValidAccessToken(first))
                    #expect(await provider.refreshRequests == 0)

                    // The provider says 401: refreshed once, and the refresh token rotates.
                    await provider.expireAccessTokens()
                    let second = try await services.refresher.accessToken(integrationID: integrationID, rejected: first)
                    #expect(second != first)
                    #expect(await provider.isValidAccessToken(second))
                    #expect(await provider.refreshRequests == 1)
                    // Asking again with the old rejected token does not refresh again.
                    #expect(try await services.refresher.accessToken(integrationID: integrationID, rejected: first) == second)
                    #expect(await provider.refreshRequests == 1)

                    // Close to expiry: refreshed ahead of time, without a 401.
                    try await TestDatabase.withConnection(to: client.database.url) { connection in
                        try await connection.query("UPDATE credentials SET expires_at = now()", logger: client.logger)
                    }
                    await provider.setAccessTokenLifetime(30)
                    let third = try await services.refresher.accessToken(integrationID: integrationID)
                    #expect(third != second)
                    #expect(await provider.refreshRequests == 2)

                    // The person disconnects the app at the provider: invalid_grant.
                    await provider.revokeRefreshTokens()
                    await #expect(throws: TokenRefresher.RefreshError.reauthorizationRequired) {
                        try await services.refresher.accessToken(integrationID: integrationID, rejected: third)
                    }
                }
                let after = try await client.send(.get, path)
                #expect(after.json["status"] as? String == "reauthorization_required")
                #expect(after.json["next_sync_at"] is NSNull)
                let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(id)")
                    .decode(ListOf<ActivityEntry>.self).data.map(\.action.rawValue)
                #expect(actions == ["alert.raised", "oauth.refresh_failed", "oauth.refreshed", "oauth.refreshed", "oauth.connected", "integration.created"])
                let alerts = try await client.database.rows(
                    "SELECT kind || ':' || integration_id::text || ':' || email_status FROM alerts", as: String.self)
                #expect(alerts == ["reauthorization_required:\(id):pending"])

                // Every secret the test used, searched for in a dump of the database and in the logs.
                let secrets = await ["s3cr3t-client"] + provider.issuedAccessTokens + provider.issuedRefreshTokens
                let dump = try pgDump(client.database)
                #expect(dump.contains("oauth_apps"), "the dump is real")
                for secret in secrets {
                    #expect(!dump.contains(secret), "secret in pg_dump")
                    #expect(!logs.text.contains(secret), "secret in logs")
                }
            }
        }
    }

    @Test("two concurrent refreshes make exactly one token request")
    func concurrentRefresh() async throws {
        let provider = FakeOAuthProvider()
        try await withFakeServer(provider.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let (_, id) = try await Self.connect(client, provider: provider, port: port, tenant: tenant)
                let integrationID = try #require(UUID(uuidString: id))
                await provider.setTokenDelay(.milliseconds(300))
                await provider.expireAccessTokens()
                try await TestServices.with(client.config, logger: client.logger) { one in
                    try await TestServices.with(client.config, logger: client.logger) { two in
                        let rejected = try await one.refresher.accessToken(integrationID: integrationID)
                        async let a = one.refresher.accessToken(integrationID: integrationID, rejected: rejected)
                        async let b = two.refresher.accessToken(integrationID: integrationID, rejected: rejected)
                        let (first, second) = try await (a, b)
                        #expect(first == second)
                        #expect(await provider.isValidAccessToken(first))
                    }
                }
                #expect(await provider.refreshRequests == 1)
                let refreshed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=oauth.refreshed")
                #expect((refreshed.json["data"] as? [Any])?.count == 1)
            }
        }
    }

    @Test("unknown, expired and declined states answer 400; a provider without an app 409")
    func badCallbacks() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x&state=nope", as: .none).status == .badRequest)
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x", as: .none).status == .badRequest)

            let created = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"keap","name":"K"}"#)
            let path = "/v1/tenants/\(tenant)/integrations/\(try #require(created.json["id"] as? String))"
            #expect(try await client.send(.post, "\(path)/oauth/authorize").status == .conflict)

            #expect(try await client.send(
                .put, "/v1/providers/keap/oauth-app", json: #"{"client_id":"c","client_secret":"s","token_url":"not a url"}"#
            ).errorFields == ["token_url"])
            #expect(try await client.send(.put, "/v1/providers/keap/oauth-app", json: #"{"client_id":"c","client_secret":"s"}"#).status == .ok)
            let authorization = try await client.send(.post, "\(path)/oauth/authorize")
            let url = try #require(authorization.json["authorize_url"] as? String)
            #expect(url.hasPrefix("https://accounts.infusionsoft.com/app/oauth/authorize?"))
            let state = try #require(authorization.json["state"] as? String)

            let declined = try await client.send(.get, "/v1/oauth/callback?error=access_denied&state=\(state)", as: .none)
            #expect(declined.status == .badRequest)
            #expect((declined.json["detail"] as? String)?.contains("access_denied") == true)
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x&state=\(state)", as: .none).status == .badRequest)

            let second = try #require(try await client.send(.post, "\(path)/oauth/authorize").json["state"] as? String)
            try await TestDatabase.withConnection(to: client.database.url) { connection in
                try await connection.query("UPDATE oauth_states SET expires_at = now() - interval '1 second'", logger: client.logger)
            }
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x&state=\(second)", as: .none).status == .badRequest)
        }
    }

    @Test("OAuth apps are admin-only; demo has none")
    func appPermissions() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let (_, key) = try await client.createKey(tenant: tenant)
            let body = #"{"client_id":"c","client_secret":"s"}"#
            #expect(try await client.send(.put, "/v1/providers/klaviyo/oauth-app", as: .token(key), json: body).status == .forbidden)
            #expect(try await client.send(.put, "/v1/providers/demo/oauth-app", json: body).status == .conflict)
            #expect(try await client.send(.put, "/v1/providers/nope/oauth-app", json: body).status == .notFound)
        }
    }
}

/// The database's contents as `pg_dump` writes them.
func pgDump(_ database: TestDatabase) throws -> String {
    let process = Process()
    let candidates = ["/usr/bin/pg_dump", "/usr/lib/postgresql/15/bin/pg_dump"]
    process.executableURL = URL(fileURLWithPath: candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "pg_dump")
    process.arguments = ["--no-owner", TestApp.databaseURLString(database.url)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestSetupError("pg_dump failed") }
    return String(decoding: data, as: UTF8.self)
}
