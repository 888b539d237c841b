import Foundation
import Hummingbird
import TributaryConnectors

/// The OAuth endpoints: the admin's app per provider, starting an authorization, and the callback.
struct OAuthController {
    let store: Store
    let flow: OAuthFlow
    let catalog: ProviderCatalog

    /// Routes behind the bearer token.
    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .put("providers/:provider_id/oauth-app", use: putApp)
            .post("tenants/:tenant_id/integrations/:integration_id/oauth/authorize", use: authorize)
    }

    /// The callback carries no bearer token: its single-use state is the capability.
    var callback: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .get("v1/oauth/callback", use: complete)
    }

    /// Named as the snake_case wire names decode (`client_id` → `clientId`).
    struct AppBody: Decodable {
        var clientId: String
        var clientSecret: String
        var scopes: [String]?
        var authorizeUrl: String?
        var tokenUrl: String?
    }

    struct Connected: Encodable, Sendable {
        @WireID var integrationID: UUID
        var status: IntegrationStatus
    }

    @Sendable func putApp(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<StoredOAuthApp> {
        try context.caller.requireAdmin("configure OAuth apps")
        guard let providerID = context.parameters.get("provider_id"), let provider = catalog.provider(id: providerID) else {
            throw APIError.notFound("no such provider")
        }
        guard let spec = provider.oauth else {
            throw APIError.conflict("\(provider.name) does not support OAuth")
        }
        let body = try await request.decodeJSON(as: AppBody.self, context: context)
        var validator = Validator()
        let clientID = validator.name(body.clientId, field: "client_id", maxLength: 500)
        let clientSecret = validator.name(body.clientSecret, field: "client_secret", maxLength: 4000)
        let authorizeURL = validator.httpURL(body.authorizeUrl ?? spec.authorizeURL, field: "authorize_url")
        let tokenURL = validator.httpURL(body.tokenUrl ?? spec.tokenURL, field: "token_url")
        let scopes = body.scopes ?? spec.defaultScopes
        for (index, scope) in scopes.enumerated() where scope.isEmpty || scope.contains(where: \.isWhitespace) {
            validator.fail("scopes[\(index)]", "must be a non-empty scope without spaces")
        }
        try validator.check()
        guard let clientID, let clientSecret, let authorizeURL, let tokenURL else { throw APIError.validation(validator.errors) }
        let sealed = try flow.vault.keyRing.seal(clientSecret, for: .oauthClientSecret(provider: provider.id))
        let stored = try await store.upsertOAuthApp(
            StoredOAuthApp(
                provider: provider.id,
                clientID: clientID,
                clientSecret: sealed,
                scopes: scopes,
                authorizeURL: authorizeURL,
                tokenURL: tokenURL,
                updatedAt: Date()
            )
        )
        context.logger.info("oauth app configured", metadata: ["provider": "\(provider.id)"])
        return JSONResponse(stored)
    }

    @Sendable func authorize(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<OAuthFlow.Authorization> {
        let integration = try await context.integration(in: store)
        return JSONResponse(try await flow.authorize(integration))
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Connected> {
        let query = request.uri.queryParameters
        guard let state = query["state"].map(String.init), !state.isEmpty else {
            throw APIError.badQuery(field: "state", "is required")
        }
        if let error = query["error"].map(String.init) {
            // The person declined, or the provider refused: the state is spent either way.
            _ = try await store.consumeOAuthState(stateHash: OAuthFlow.hash(state))
            let description = query["error_description"].map(String.init).map { ": \($0)" } ?? ""
            throw APIError.badRequest("the provider did not authorize: \(error)\(description)")
        }
        guard let code = query["code"].map(String.init), !code.isEmpty else {
            throw APIError.badQuery(field: "code", "is required")
        }
        let integration = try await flow.complete(code: code, state: state)
        return JSONResponse(Connected(integrationID: integration.id, status: integration.status))
    }
}

extension Validator {
    /// An absolute http or https URL.
    mutating func httpURL(_ text: String, field: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme), components.host?.isEmpty == false
        else {
            fail(field, "must be an http or https URL")
            return nil
        }
        return text
    }
}
