import Foundation
import PostgresNIO
import TributaryConnectors

/// An OAuth client as stored: the secret still sealed. Answers show it without the secret
/// (`SealedSecret` is not even `Encodable`, so it cannot slip into `CodingKeys`).
struct StoredOAuthApp: Sendable, Encodable {
    var provider: String
    var clientID: String
    var clientSecret: SealedSecret
    var scopes: [String]
    var authorizeURL: String
    var tokenURL: String
    var updatedAt: Date

    enum CodingKeys: CodingKey {
        case provider, clientID, scopes, authorizeURL, tokenURL, updatedAt
    }
}

/// A consumed authorization state: which integration it was for, and its sealed PKCE verifier.
struct ConsumedState: Sendable {
    var tenantID: UUID
    var integrationID: UUID
    var verifier: SealedSecret
}

/// A credential as stored, for the vault to open.
struct StoredCredential: Sendable {
    var tenantID: UUID
    var integrationID: UUID
    var type: CredentialType
    var sealed: SealedSecret
    var expiresAt: Date?
    /// Nil for a credential sealed before bindings existed.
    var binding: CredentialBinding?
}

extension Store {
    func upsertOAuthApp(_ app: StoredOAuthApp) async throws -> StoredOAuthApp {
        try await withTransaction { connection in
            try await connection.rows(
                """
                INSERT INTO oauth_apps (provider, client_id, key_id, client_secret, scopes, authorize_url, token_url, updated_at)
                VALUES (\(app.provider), \(app.clientID), \(app.clientSecret.keyID), \(app.clientSecret.box), \(app.scopes),
                        \(app.authorizeURL), \(app.tokenURL), now())
                ON CONFLICT (provider) DO UPDATE SET
                    client_id = excluded.client_id, key_id = excluded.key_id, client_secret = excluded.client_secret,
                    scopes = excluded.scopes, authorize_url = excluded.authorize_url, token_url = excluded.token_url,
                    updated_at = now()
                RETURNING updated_at
                """,
                as: Date.self
            ).first.map { updatedAt in
                var stored = app
                stored.updatedAt = updatedAt
                return stored
            } ?? app
        }
    }

    func oauthApp(provider: String) async throws -> StoredOAuthApp? {
        try await withConnection { connection in
            try await connection.rows(
                """
                SELECT client_id, key_id, client_secret, scopes, authorize_url, token_url, updated_at
                FROM oauth_apps WHERE provider = \(provider)
                """,
                as: String.self,
                String.self,
                Data.self,
                [String].self,
                String.self,
                String.self,
                Date.self
            ).first.map { row in
                StoredOAuthApp(
                    provider: provider,
                    clientID: row.0,
                    clientSecret: SealedSecret(keyID: row.1, box: row.2),
                    scopes: row.3,
                    authorizeURL: row.4,
                    tokenURL: row.5,
                    updatedAt: row.6
                )
            }
        }
    }

    func insertOAuthState(stateHash: Data, tenantID: UUID, integrationID: UUID, verifier: SealedSecret, expiresAt: Date) async throws {
        try await withTransaction { connection in
            // Expired states are of no use to anyone; clear them while here.
            try await connection.query("DELETE FROM oauth_states WHERE expires_at < now() - interval '1 day'")
            try await connection.query(
                """
                INSERT INTO oauth_states (state_hash, tenant_id, integration_id, key_id, code_verifier, expires_at)
                VALUES (\(stateHash), \(tenantID), \(integrationID), \(verifier.keyID), \(verifier.box), \(expiresAt))
                """
            )
        }
    }

    /// Marks the state used and returns it, if it exists, is unused and has not expired; in one
    /// statement, so two callbacks racing with the same state cannot both succeed.
    func consumeOAuthState(stateHash: Data) async throws -> ConsumedState? {
        try await withTransaction { connection in
            try await connection.rows(
                """
                UPDATE oauth_states SET used_at = now()
                WHERE state_hash = \(stateHash) AND used_at IS NULL AND expires_at > now()
                RETURNING tenant_id, integration_id, key_id, code_verifier
                """,
                as: UUID.self,
                UUID.self,
                String.self,
                Data.self
            ).first.map { ConsumedState(tenantID: $0.0, integrationID: $0.1, verifier: SealedSecret(keyID: $0.2, box: $0.3)) }
        }
    }

    func storedCredential(integrationID: UUID) async throws -> StoredCredential? {
        try await withConnection { connection in
            try await connection.storedCredential(integrationID: integrationID)
        }
    }

    /// Claims the refresh lease of an OAuth credential for `holder` until `seconds` from now, if it is
    /// free or has lapsed (its holder died), in one statement; returns the credential as it is then.
    /// Nil: there is no OAuth credential, or another process is refreshing it.
    func claimRefresh(integrationID: UUID, holder: String, seconds: Int) async throws -> StoredCredential? {
        try await withConnection { connection in
            try await connection.credential(
                """
                UPDATE credentials SET refresh_owner = \(holder), refresh_until = now() + interval '1 second' * \(seconds)
                WHERE integration_id = \(integrationID) AND type = 'oauth2' AND (refresh_until IS NULL OR refresh_until <= now())
                RETURNING \(unescaped: StoreConnection.credentialColumns)
                """,
                integrationID: integrationID
            )
        }
    }

    /// Stores refreshed tokens and the activity entry saying so, together, and releases the lease; only
    /// while `holder` still holds it (a person who connected the integration again meanwhile has
    /// replaced the credential and its lease). False: the lease was no longer `holder`'s.
    func storeRefreshedTokens(integrationID: UUID, holder: String, _ credential: SealedCredential, activity: ActivityDraft) async throws -> Bool {
        try await withTransaction { connection in
            let updated = try await connection.rows(
                """
                UPDATE credentials SET key_id = \(credential.sealed.keyID), secret = \(credential.sealed.box),
                    fingerprint = \(credential.fingerprint), expires_at = \(credential.expiresAt),
                    bound_origin = \(credential.binding.origin), bound_auth = \(credential.binding.placement), updated_at = now(),
                    refresh_owner = NULL, refresh_until = NULL
                WHERE integration_id = \(integrationID) AND refresh_owner = \(holder)
                RETURNING 1
                """,
                as: Int.self
            )
            guard !updated.isEmpty else { return false }
            try await connection.appendActivity(activity)
            return true
        }
    }

    /// Gives the refresh lease back without new tokens (the token endpoint failed, or no refresh was needed).
    func releaseRefresh(integrationID: UUID, holder: String) async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                UPDATE credentials SET refresh_owner = NULL, refresh_until = NULL
                WHERE integration_id = \(integrationID) AND refresh_owner = \(holder)
                """
            )
        }
    }

    /// The provider refused the refresh token: the integration needs reconnecting, and the lease is released.
    func refusedRefresh(tenantID: UUID, integrationID: UUID, holder: String, reason: String) async throws {
        try await withTransaction { connection in
            try await connection.markReauthorizationRequired(tenantID: tenantID, integrationID: integrationID, reason: reason)
            try await connection.query(
                """
                UPDATE credentials SET refresh_owner = NULL, refresh_until = NULL
                WHERE integration_id = \(integrationID) AND refresh_owner = \(holder)
                """
            )
        }
    }

    /// A child process asks its parent for a refresh: the request's number, which the parent counts
    /// served once it has refreshed (or tried). `rejected`: the SHA-256 of the access token to replace
    /// (answered 401 to, or found due). Nil: the integration has no OAuth credential.
    func requestRefresh(integrationID: UUID, rejected: Data?) async throws -> Int64? {
        try await withConnection { connection in
            try await connection.rows(
                """
                UPDATE credentials SET refresh_requests = refresh_requests + 1, refresh_rejected = \(rejected)
                WHERE integration_id = \(integrationID) AND type = 'oauth2'
                RETURNING refresh_requests
                """,
                as: Int64.self
            ).first
        }
    }

    /// The newest refresh asked for and not yet served, if any: its number and the SHA-256 of the token to replace.
    func pendingRefresh(integrationID: UUID) async throws -> (number: Int64, rejected: Data?)? {
        try await withConnection { connection in
            try await connection.rows(
                """
                SELECT refresh_requests, refresh_rejected FROM credentials
                WHERE integration_id = \(integrationID) AND refresh_requests > refresh_served
                """,
                as: Int64.self,
                Data?.self
            ).first.map { (number: $0.0, rejected: $0.1) }
        }
    }

    /// Counts every request up to `number` served, never past those made: a credential deleted and
    /// connected again meanwhile starts its counts anew, and its requests are not passed over.
    func refreshServed(integrationID: UUID, through number: Int64) async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                UPDATE credentials SET refresh_served = LEAST(refresh_requests, GREATEST(refresh_served, \(number)))
                WHERE integration_id = \(integrationID)
                """
            )
        }
    }

    /// How many refresh requests have been served; nil once the credential is gone.
    func servedRefreshes(integrationID: UUID) async throws -> Int64? {
        try await withConnection { connection in
            try await connection.rows(
                "SELECT refresh_served FROM credentials WHERE integration_id = \(integrationID)",
                as: Int64.self
            ).first
        }
    }
}

extension StoreConnection {
    static let credentialColumns = "tenant_id, type, key_id, secret, expires_at, bound_origin, bound_auth"

    /// The credential row.
    func storedCredential(integrationID: UUID) async throws -> StoredCredential? {
        try await credential(
            "SELECT \(unescaped: Self.credentialColumns) FROM credentials WHERE integration_id = \(integrationID)",
            integrationID: integrationID
        )
    }

    /// The credential `query` returns (`credentialColumns`), if any.
    func credential(_ query: PostgresQuery, integrationID: UUID) async throws -> StoredCredential? {
        try await rows(query, as: UUID.self, String.self, String.self, Data.self, Date?.self, String?.self, String?.self)
            .first.map { Self.credential(integrationID: integrationID, $0) }
    }

    /// A row of `credentialColumns` as a credential.
    static func credential(
        integrationID: UUID,
        _ row: (UUID, String, String, Data, Date?, String?, String?)
    ) -> StoredCredential {
        var binding: CredentialBinding?
        if let origin = row.5, let placement = row.6 { binding = CredentialBinding(origin: origin, placement: placement) }
        return StoredCredential(
            tenantID: row.0,
            integrationID: integrationID,
            type: CredentialType(rawValue: row.1) ?? .apiKey,
            sealed: SealedSecret(keyID: row.2, box: row.3),
            expiresAt: row.4,
            binding: binding
        )
    }

    /// The provider refused the refresh token: the integration needs a person to reconnect it.
    func markReauthorizationRequired(tenantID: UUID, integrationID: UUID, reason: String) async throws {
        if let current = try await lockIntegration(id: integrationID)?.status {
            let status = current.afterRefusedRefresh
            try await setStatus(integrationID: integrationID, status, next: current.nextSync(changingTo: status))
        }
        try await appendActivity(
            ActivityDraft(
                tenantID: tenantID,
                actor: .system,
                action: .oauthRefreshFailed,
                integrationID: integrationID,
                details: ["error": .string(reason)]
            )
        )
        try await raiseReauthorization(
            tenantID: tenantID,
            integrationID: integrationID,
            error: RunError(code: "reauthorization_required", message: reason)
        )
    }

    /// The `reauthorization_required` alert: one per refused credential, so the same refresh token
    /// or key refused again raises nothing new.
    func raiseReauthorization(tenantID: UUID, integrationID: UUID, error: RunError) async throws {
        let fingerprint = try await rows("SELECT fingerprint FROM credentials WHERE integration_id = \(integrationID)", as: String.self).first
        try await raiseAlert(
            AlertDraft(
                tenantID: tenantID,
                integrationID: integrationID,
                kind: .reauthorizationRequired,
                dedupKey: "reauthorization_required/\(integrationID.lowercased)/\(fingerprint ?? "none")",
                details: ["error": error.json]
            )
        )
    }
}
