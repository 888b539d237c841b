import Foundation
import Hummingbird
import Logging

/// Resolves `Authorization: Bearer …` to a caller, or answers 401.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let store: Store
    let keys: KeyCache
    /// SHA-256 of the admin token: compared digest to digest, so neither length nor content leaks.
    let adminTokenHash: Data

    init(store: Store, keys: KeyCache, adminToken: String) {
        self.store = store
        self.keys = keys
        self.adminTokenHash = APIKeySecret.hash(adminToken)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.caller = try await caller(for: request, logger: context.logger)
        switch context.caller {
        case .tenantKey(let keyID, let tenantID):
            context.logger[metadataKey: "tenant_id"] = "\(tenantID.lowercased)"
            context.logger[metadataKey: "api_key_id"] = "\(keyID.lowercased)"
        case .admin:
            context.logger[metadataKey: "caller"] = "admin"
        case nil:
            break
        }
        return try await next(request, context)
    }

    private func caller(for request: Request, logger: Logger) async throws -> Caller {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("send Authorization: Bearer <token>")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("the Authorization header must be Bearer <token>")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let hash = APIKeySecret.hash(token)
        if constantTimeEquals(hash, adminTokenHash) {
            return .admin
        }
        guard APIKeySecret.looksLikeKey(token) else {
            throw APIError.unauthorized("the token is unknown or revoked")
        }
        let prefix = String(token.prefix(APIKeySecret.prefixLength))
        if let cached = keys.key(prefix: prefix, hash: hash) {
            return .tenantKey(keyID: cached.keyID, tenantID: cached.tenantID)
        }
        guard let stored = try await store.storedKey(prefix: prefix), constantTimeEquals(hash, stored.keyHash), !stored.isRevoked
        else {
            throw APIError.unauthorized("the token is unknown or revoked")
        }
        if stored.lastUsedAt.map({ $0 < Date(timeIntervalSinceNow: -60) }) ?? true {
            do {
                try await store.touchAPIKey(id: stored.id)
            } catch {
                // Bookkeeping only: a failure here must not fail the request.
                logger.warning("could not record API key use", metadata: ["error": "\(error)"])
            }
        }
        keys.store(prefix: prefix, keyID: stored.id, tenantID: stored.tenantID, hash: hash)
        return .tenantKey(keyID: stored.id, tenantID: stored.tenantID)
    }
}
