import Foundation
import Hummingbird

extension AuthenticatedContext {
    /// A UUID path parameter; anything that is not one names nothing, so 404.
    func uuidParameter(_ name: String, _ what: String) throws(APIError) -> UUID {
        guard let text = parameters.get(name), let id = UUID(uuidString: text) else {
            throw APIError.notFound("no such \(what)")
        }
        return id
    }

    /// The `:tenant_id` of the path, when the caller may see that tenant. Another tenant's
    /// resources answer 404, exactly as if they did not exist.
    func tenantID() throws(APIError) -> UUID {
        let id = try uuidParameter("tenant_id", "tenant")
        guard caller.canAccess(tenant: id) else { throw APIError.notFound("no such tenant") }
        return id
    }

    /// As `tenantID()`, and the tenant exists.
    func existingTenantID(in store: Store) async throws -> UUID {
        let id = try tenantID()
        if case .tenantKey = caller { return id }  // a live key's tenant exists: deleting it deletes its keys
        guard try await store.tenant(id: id) != nil else { throw APIError.notFound("no such tenant") }
        return id
    }

    /// The `:integration_id` of the path, inside a tenant the caller may see; else 404.
    func integration(in store: Store) async throws -> Integration {
        let tenantID = try tenantID()
        let id = try uuidParameter("integration_id", "integration")
        guard let integration = try await store.integration(tenantID: tenantID, id: id) else {
            throw APIError.notFound("no such integration")
        }
        return integration
    }
}
