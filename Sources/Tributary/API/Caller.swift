import Foundation

/// Who is calling: the admin token, or one tenant's API key.
enum Caller: Sendable, Hashable {
    case admin
    case tenantKey(keyID: UUID, tenantID: UUID)

    var actor: ActivityActor {
        switch self {
        case .admin: .admin
        case .tenantKey(let keyID, _): .apiKey(keyID)
        }
    }

    /// Whether the caller may see this tenant at all; when not, the tenant answers 404.
    func canAccess(tenant id: UUID) -> Bool {
        switch self {
        case .admin: true
        case .tenantKey(_, let tenantID): tenantID == id
        }
    }

    /// Admin-only operations answer 403 to a tenant key.
    func requireAdmin(_ operation: String) throws(APIError) {
        guard case .admin = self else {
            throw APIError.forbidden("a tenant API key cannot \(operation); use the admin token")
        }
    }

    /// Whose `Idempotency-Key`s these are: the admin's, or the tenant's (its keys share them).
    var idempotencyScope: (scope: String, tenantID: UUID?) {
        switch self {
        case .admin: ("admin", nil)
        case .tenantKey(_, let tenantID): (tenantID.lowercased, tenantID)
        }
    }
}
