import Foundation
import Logging
import TributaryConnectors

/// Gives connectors a usable access token: refreshed ahead of expiry, and once more when the
/// provider answers 401. One refresh per integration runs at a time across every process (a row
/// lock on the credential), because refresh tokens rotate and a second refresh would present a
/// token already spent.
struct TokenRefresher: Sendable {
    let store: Store
    let flow: OAuthFlow

    /// Refresh when less than this remains.
    static let margin: TimeInterval = 120

    enum RefreshError: Error, Sendable, Equatable {
        case noCredential
        case notOAuth
        /// The provider refused the refresh token; the integration is now `reauthorization_required`.
        case reauthorizationRequired
        case unavailable(String)
    }

    /// The access token to use now. `rejected` is a token the provider just answered 401 to:
    /// it is refreshed unless another process already replaced it.
    func accessToken(integrationID: UUID, rejected: String? = nil) async throws -> String {
        guard let stored = try await store.storedCredential(integrationID: integrationID) else { throw RefreshError.noCredential }
        guard case .oauth2(let tokens) = try flow.vault.open(stored) else { throw RefreshError.notOAuth }
        if !needsRefresh(tokens, expiresAt: stored.expiresAt, rejected: rejected) { return tokens.accessToken }
        return try await refresh(integrationID: integrationID, rejected: rejected)
    }

    /// `expiresAt` is the credential row's: the one place expiry is kept in the clear.
    private func needsRefresh(_ tokens: OAuthTokens, expiresAt: Date?, rejected: String?) -> Bool {
        if let rejected { return tokens.accessToken == rejected }
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSinceNow < Self.margin
    }

    private func refresh(integrationID: UUID, rejected: String?) async throws -> String {
        // Read before the transaction: inside it, a second pool connection could wait on the first.
        let integration = try await store.integrationByID(integrationID)
        var app: StoredOAuthApp?
        if let integration { app = try await store.oauthApp(provider: integration.provider) }
        let outcome: Result<String, RefreshError> = try await store.withTransaction { connection in
            guard let stored = try await connection.storedCredential(integrationID: integrationID, lock: true) else {
                return .failure(.noCredential)
            }
            guard case .oauth2(let tokens) = try flow.vault.open(stored) else { return .failure(.notOAuth) }
            // Whoever held the lock before us may have refreshed already.
            if !needsRefresh(tokens, expiresAt: stored.expiresAt, rejected: rejected) { return .success(tokens.accessToken) }
            guard let refreshToken = tokens.refreshToken, integration != nil, let app else {
                try await connection.markReauthorizationRequired(
                    tenantID: stored.tenantID,
                    integrationID: integrationID,
                    reason: "no refresh token or OAuth app"
                )
                return .failure(.reauthorizationRequired)
            }
            let client = try flow.clientConfig(app)
            let refreshed: Result<OAuthTokens, TokenEndpointError>
            do throws(TokenEndpointError) {
                refreshed = .success(try await flow.tokenEndpoint.refresh(refreshToken: refreshToken, client: client))
            } catch {
                refreshed = .failure(error)
            }
            let fresh: OAuthTokens
            switch refreshed {
            case .success(let tokens):
                fresh = tokens
            case .failure(.invalidGrant(let description)):
                flow.logger.warning("refresh token refused", metadata: ["integration_id": "\(integrationID.lowercased)"])
                try await connection.markReauthorizationRequired(
                    tenantID: stored.tenantID,
                    integrationID: integrationID,
                    reason: "invalid_grant" + (description.isEmpty ? "" : ": \(description)")
                )
                return .failure(.reauthorizationRequired)
            case .failure(.rejected(let code, _)):
                return .failure(.unavailable("the token endpoint refused the refresh: \(code)"))
            case .failure(.unavailable(let reason)):
                return .failure(.unavailable(reason))
            }
            // The new tokens keep the binding of those they replace (one sealed before bindings, the config's).
            let binding = stored.binding ?? CredentialBinding(config: integration?.config ?? [:])
            let sealed = try flow.vault.seal(.oauth2(fresh), tenantID: stored.tenantID, integrationID: integrationID, binding: binding)
            try await connection.updateTokens(integrationID: integrationID, sealed)
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: stored.tenantID,
                    actor: .system,
                    action: .oauthRefreshed,
                    integrationID: integrationID,
                    details: ["expires_at": fresh.expiresAt.map { .string(Timestamps.format($0)) } ?? .null]
                )
            )
            return .success(fresh.accessToken)
        }
        return try outcome.get()
    }
}
