import Foundation
import Hummingbird

/// `/v1/tenants`: the admin's view of customers; a tenant key may read its own.
struct TenantsController {
    let store: Store
    /// Dropped of a deleted tenant's keys.
    let keys: KeyCache

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post(use: create).get(use: list).get(":tenant_id", use: show).patch(":tenant_id", use: update)
            .delete(":tenant_id", use: delete)
    }

    struct CreateBody: Decodable {
        var name: String
        var alertEmails: [String]?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var alertEmails: [String]?
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Tenant> {
        try context.caller.requireAdmin("create tenants")
        let body = try await request.decodeJSON(as: CreateBody.self, context: context)
        var validator = Validator()
        let name = validator.name(body.name, field: "name")
        let emails = validator.emails(body.alertEmails ?? [], field: "alert_emails")
        try validator.check()
        let tenant = try await store.createTenant(name: name ?? "", alertEmails: emails ?? [], actor: context.caller.actor)
        context.logger.info("tenant created", metadata: ["tenant_id": "\(tenant.id.lowercased)"])
        return JSONResponse(tenant, status: .created, headers: [.location: "/v1/tenants/\(tenant.id.lowercased)"])
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<Tenant>> {
        try context.caller.requireAdmin("list tenants")
        let query = try ListQuery(request)
        let page = try await store.tenants(after: try query.timeKeyset(), limit: query.limit)
        return JSONResponse(ListBody(page))
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Tenant> {
        let id = try context.tenantID()
        guard let tenant = try await store.tenant(id: id) else { throw APIError.notFound("no such tenant") }
        return JSONResponse(tenant)
    }

    @Sendable func update(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Tenant> {
        try context.caller.requireAdmin("change tenants")
        let id = try context.tenantID()
        let body = try await request.decodeJSON(as: UpdateBody.self, context: context)
        var validator = Validator()
        if body.name == nil && body.alertEmails == nil {
            validator.fail("", "give at least one of name, alert_emails")
        }
        let name = validator.name(body.name, field: "name")
        let emails = validator.emails(body.alertEmails, field: "alert_emails")
        try validator.check()
        guard let tenant = try await store.updateTenant(id: id, name: name, alertEmails: emails, actor: context.caller.actor)
        else { throw APIError.notFound("no such tenant") }
        return JSONResponse(tenant)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try context.caller.requireAdmin("delete tenants")
        let id = try context.tenantID()
        guard try await store.deleteTenant(id: id) else { throw APIError.notFound("no such tenant") }
        keys.drop(tenantID: id)
        context.logger.info("tenant deleted", metadata: ["tenant_id": "\(id.lowercased)"])
        return Response(status: .noContent)
    }
}
