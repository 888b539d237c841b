import Foundation
import Hummingbird

/// `/v1/tenants/{tenant_id}/api-keys`: keys that act inside one tenant.
struct APIKeysController {
    let store: Store
    let keys: KeyCache

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post(use: create).get(use: list).delete(":key_id", use: revoke)
    }

    struct CreateBody: Decodable {
        var name: String
    }

    /// The one answer that carries the key itself.
    struct Created: Encodable, Sendable {
        @WireID var id: UUID
        var name: String
        var key: String
        var prefix: String
        var createdAt: Date

        init(key: APIKey, secret: String) {
            self.id = key.id
            self.name = key.name
            self.key = secret
            self.prefix = key.prefix
            self.createdAt = key.createdAt
        }
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Created> {
        let tenantID = try await context.existingTenantID(in: store)
        let body = try await request.decodeJSON(as: CreateBody.self, context: context)
        var validator = Validator()
        let name = validator.name(body.name, field: "name")
        try validator.check()
        let secret = APIKeySecret.generate()
        let key = try await store.createAPIKey(
            tenantID: tenantID,
            name: name ?? "",
            prefix: secret.prefix,
            keyHash: secret.hash,
            actor: context.caller.actor
        )
        return JSONResponse(
            Created(key: key, secret: secret.value),
            status: .created,
            headers: [.location: "/v1/tenants/\(tenantID.lowercased)/api-keys/\(key.id.lowercased)"]
        )
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<APIKey>> {
        let tenantID = try await context.existingTenantID(in: store)
        let query = try ListQuery(request)
        return JSONResponse(ListBody(try await store.apiKeys(tenantID: tenantID, after: try query.timeKeyset(), limit: query.limit)))
    }

    @Sendable func revoke(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenantID = try context.tenantID()
        let keyID = try context.uuidParameter("key_id", "API key")
        let revoked = try await store.revokeAPIKey(tenantID: tenantID, keyID: keyID, actor: context.caller.actor)
        if revoked { keys.drop(tenantID: tenantID) }
        return try .deleted(revoked, "API key")
    }
}
