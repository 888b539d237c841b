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
    /// authorize → provider → callback path; returns the integration's path and id. `config` and `streams`
    /// are the integration's (e.g. a `base_url` pointing at a fake Klaviyo).
    static func connect(
        _ client: TestClient,
        provider: FakeOAuthProvider,
        port: Int,
        tenant: String,
        streams: [String]? = nil,
        config: [String: JSON]? = nil
    ) async throws -> (path: String, id: String) {
        let app = try await client.send(
            .put,
            "/v1/providers/klaviyo/oauth-app",
            body: OAuthAppBody(
                clientID: "client-123",
                clientSecret: "s3cr3t-client",
                scopes: ["profiles:read", "events:read"],
                authorizeURL: "http://127.0.0.1:\(port)/oauth/authorize",
                tokenURL: "http://127.0.0.1:\(port)/oauth/token"
            )
        )
        #expect(app.status == .ok)
        #expect(app.raw["client_secret"] == nil)
        #expect(!String(decoding: app.body, as: UTF8.self).contains("s3cr3t-client"))

        let created = try await client.send(
            .post,
            "/v1/tenants/\(tenant)/integrations",
            body: IntegrationBody(provider: "klaviyo", name: "K", streams: streams, config: config)
        )
        .decode(IntegrationView.self)
        #expect(created.status == "pending_authorization")
        let id = created.id
        let path = "/v1/tenants/\(tenant)/integrations/\(id)"

        let authorization = try await client.send(.post, "\(path)/oauth/authorize")
        #expect(authorization.status == .ok)
        let url = try authorization.decode(AuthorizationView.self).authorizeURL
        let state = try authorization.decode(AuthorizationView.self).state
        let query = Dictionary(uniqueKeysWithValues: (URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["redirect_uri"] == "http://127.0.0.1:8080/v1/oauth/callback")
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["scope"] == "profiles:read events:read")
        #expect(query["state"] == state)

        // The person approves at the provider, which redirects back with a code.
        let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let approval: HTTPClientResponse
        do {
            approval = try await browser.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
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
        #expect(try connected.decode(ConnectedView.self).integrationID == id)
        #expect(try connected.decode(ConnectedView.self).status == "active")

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
                let integration = try await client.send(.get, path).decode(IntegrationView.self)
                #expect(integration.credential?.type == "oauth2")
                #expect(integration.credential?.expiresAt != nil)
                #expect(integration.nextSyncAt != nil)
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
                #expect(try after.decode(IntegrationView.self).status == "reauthorization_required")
                #expect(after.raw["next_sync_at"] == .null)
                let actions = try await client.send(.get, "/v1/tenants/\(tenant)/activity?integration_id=\(id)")
                    .decode(ListOf<ActivityView>.self).data.map(\.action)
                #expect(
                    actions == [
                        "alert.raised", "oauth.refresh_failed", "oauth.refreshed", "oauth.refreshed", "oauth.connected", "integration.created",
                    ]
                )
                // The alert goes through the outbox like every other: its email waits there (no SMTP here).
                let alerts = try await client.alerts(tenant: tenant)
                #expect(alerts.map(\.kind) == ["reauthorization_required"] && alerts.first?.integrationID == id)
                #expect(alerts.first?.delivery.email == "pending")
                #expect(try await client.database.rows("SELECT count(*) FROM outbox WHERE channel = 'email'", as: Int.self) == [1])

                // Every secret the test used, searched for in a dump of the database and in the logs.
                let secrets = await ["s3cr3t-client"] + provider.issuedAccessTokens + provider.issuedRefreshTokens
                let dump = try await client.database.dump()
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
                #expect(try refreshed.decode(ListOf<ActivityView>.self).data.count == 1)
            }
        }
    }

    @Test("unknown, expired and declined states answer 400; a provider without an app 409")
    func badCallbacks() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x&state=nope", as: .none).status == .badRequest)
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x", as: .none).status == .badRequest)

            let created = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "keap", name: "K"))
            let path = "/v1/tenants/\(tenant)/integrations/\(created)"
            #expect(try await client.send(.post, "\(path)/oauth/authorize").status == .conflict)

            #expect(
                try await client.send(
                    .put,
                    "/v1/providers/keap/oauth-app",
                    body: OAuthAppBody(clientID: "c", clientSecret: "s", tokenURL: "not a url")
                ).errorFields == ["token_url"]
            )
            #expect(try await client.send(.put, "/v1/providers/keap/oauth-app", body: OAuthAppBody(clientID: "c", clientSecret: "s")).status == .ok)
            let authorization = try await client.send(.post, "\(path)/oauth/authorize").decode(AuthorizationView.self)
            #expect(authorization.authorizeURL.hasPrefix("https://accounts.infusionsoft.com/app/oauth/authorize?"))
            let state = authorization.state

            let declined = try await client.send(.get, "/v1/oauth/callback?error=access_denied&state=\(state)", as: .none)
            #expect(declined.status == .badRequest)
            #expect(try declined.decode(ProblemView.self).detail.contains("access_denied"))
            #expect(try await client.send(.get, "/v1/oauth/callback?code=x&state=\(state)", as: .none).status == .badRequest)

            let second = try await client.send(.post, "\(path)/oauth/authorize").decode(AuthorizationView.self).state
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
            let body = OAuthAppBody(clientID: "c", clientSecret: "s")
            #expect(try await client.send(.put, "/v1/providers/klaviyo/oauth-app", as: .token(key), body: body).status == .forbidden)
            #expect(try await client.send(.put, "/v1/providers/demo/oauth-app", body: body).status == .conflict)
            #expect(try await client.send(.put, "/v1/providers/nope/oauth-app", body: body).status == .notFound)
            // `null` endpoints and scopes are the provider's own, as if left out.
            let nulls = try await client.send(
                .put,
                "/v1/providers/keap/oauth-app",
                json: #"{"client_id":"c","client_secret":"s","authorize_url":null,"token_url":null,"scopes":null}"#
            )
            #expect(nulls.status == .ok)
            #expect(nulls.raw["token_url"] == "https://api.infusionsoft.com/token")
            #expect(nulls.raw["scopes"] == ["full"])
        }
    }
}
