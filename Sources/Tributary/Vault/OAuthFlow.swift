import Crypto
import Foundation
import Logging
import TributaryConnectors

/// The authorization-code flow with PKCE S256 (RFC 6749 §4.1, RFC 7636).
struct OAuthFlow: Sendable {
    let store: Store
    let vault: CredentialVault
    let tokenEndpoint: TokenEndpoint
    let catalog: ProviderCatalog
    let publicURL: String
    let logger: Logger

    static let stateLifetime: TimeInterval = 600

    var redirectURI: String { publicURL + "/v1/oauth/callback" }

    /// What `POST …/oauth/authorize` answers: where to send the person, and the state to expect back.
    struct Authorization: Sendable, Encodable {
        var authorizeURL: String
        var state: String
        var expiresAt: Date
    }

    enum FlowError: Error, Sendable {
        case notOAuthProvider(String)
        case noOAuthApp(String)
        case unknownState
        case integrationGone
        case token(TokenEndpointError)
    }

    /// Starts an authorization: a single-use state and a PKCE verifier kept server-side.
    func authorize(_ integration: Integration) async throws -> Authorization {
        guard catalog.provider(id: integration.provider)?.authTypes.contains(.oauth2) == true else {
            throw FlowError.notOAuthProvider(integration.provider)
        }
        guard let app = try await store.oauthApp(provider: integration.provider) else {
            throw FlowError.noOAuthApp(integration.provider)
        }
        let state = Self.randomToken(bytes: 32)
        let verifier = Self.randomToken(bytes: 48)
        let challenge = Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
        let expiresAt = Date(timeIntervalSinceNow: Self.stateLifetime)
        let sealedVerifier = try vault.keyRing.seal(
            verifier,
            for: .pkceVerifier(tenantID: integration.tenantID, integrationID: integration.id)
        )
        try await store.insertOAuthState(
            stateHash: Self.hash(state),
            tenantID: integration.tenantID,
            integrationID: integration.id,
            verifier: sealedVerifier,
            expiresAt: expiresAt
        )

        var components = URLComponents(string: app.authorizeURL) ?? URLComponents()
        components.queryItems =
            (components.queryItems ?? []) + [
                URLQueryItem(name: "response_type", value: "code"),
                URLQueryItem(name: "client_id", value: app.clientID),
                URLQueryItem(name: "redirect_uri", value: redirectURI),
                URLQueryItem(name: "scope", value: app.scopes.joined(separator: " ")),
                URLQueryItem(name: "state", value: state),
                URLQueryItem(name: "code_challenge", value: challenge),
                URLQueryItem(name: "code_challenge_method", value: "S256"),
            ]
        // URLComponents leaves '+' alone in queries; a literal plus must not read as a space.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return Authorization(authorizeURL: components.string ?? app.authorizeURL, state: state, expiresAt: expiresAt)
    }

    /// Finishes an authorization: consumes the state, exchanges the code, stores the tokens.
    func complete(code: String, state: String) async throws -> Integration {
        guard let consumed = try await store.consumeOAuthState(stateHash: Self.hash(state)) else {
            throw FlowError.unknownState
        }
        guard let integration = try await store.integration(tenantID: consumed.tenantID, id: consumed.integrationID),
            let app = try await store.oauthApp(provider: integration.provider)
        else {
            throw FlowError.integrationGone
        }
        let verifier = try vault.keyRing.openString(
            consumed.verifier,
            for: .pkceVerifier(tenantID: consumed.tenantID, integrationID: consumed.integrationID)
        )
        let client = try clientConfig(app)
        let tokens: OAuthTokens
        do {
            tokens = try await tokenEndpoint.exchange(code: code, verifier: verifier, redirectURI: redirectURI, client: client)
        } catch {
            throw FlowError.token(error)
        }
        let sealed = try vault.seal(.oauth2(tokens), for: integration)
        guard
            let connected = try await store.replaceCredential(
                tenantID: integration.tenantID,
                integrationID: integration.id,
                credential: sealed,
                transition: \.afterOAuthConnected,
                action: .oauthConnected,
                actor: .system
            )
        else {
            throw FlowError.integrationGone
        }
        logger.info("oauth connected", metadata: ["integration_id": "\(integration.id.lowercased)"])
        return connected
    }

    func clientConfig(_ app: StoredOAuthApp) throws -> OAuthClientConfig {
        OAuthClientConfig(
            clientID: app.clientID,
            clientSecret: try vault.keyRing.openString(app.clientSecret, for: .oauthClientSecret(provider: app.provider)),
            tokenURL: app.tokenURL,
            authentication: catalog.provider(id: app.provider)?.oauth?.clientAuthentication ?? .basic
        )
    }

    static func randomToken(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64URLEncodedString()
    }

    static func hash(_ state: String) -> Data {
        Data(SHA256.hash(data: Data(state.utf8)))
    }
}
