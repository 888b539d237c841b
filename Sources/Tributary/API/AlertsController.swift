import Foundation
import Hummingbird

/// `/v1/tenants/{tenant_id}/alerts`: what was raised, newest first, with each email's delivery.
struct AlertsController {
    let store: Store

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get(use: list)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<Alert>> {
        let tenantID = try await context.existingTenantID(in: store)
        let query = try ListQuery(request)
        let filter = try Self.filter(request)
        return JSONResponse(ListBody(try await store.alerts(tenantID: tenantID, filter: filter, after: try query.timeKeyset(), limit: query.limit)))
    }

    static func filter(_ request: Request) throws(APIError) -> AlertFilter {
        var query = FilterQuery(request)
        let filter = AlertFilter(
            kind: query.oneOf("kind", AlertKind.self),
            integrationID: query.uuid("integration_id"),
            since: query.timestamp("since")
        )
        try query.check()
        return filter
    }
}
