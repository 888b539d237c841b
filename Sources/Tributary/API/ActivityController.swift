import Foundation
import Hummingbird
import TributaryConnectors

/// `/v1/tenants/{tenant_id}/activity`: the tenant's log, newest first.
struct ActivityController {
    let store: Store

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get(use: list)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<ActivityEntry>> {
        let tenantID = try await context.existingTenantID(in: store)
        let query = try ListQuery(request)
        let filter = try Self.filter(request)
        let page = try await store.activity(tenantID: tenantID, filter: filter, before: try query.sequence(), limit: query.limit)
        return JSONResponse(ListBody(page))
    }

    static func filter(_ request: Request) throws(APIError) -> ActivityFilter {
        var query = FilterQuery(request)
        var filter = ActivityFilter()
        if let action = query.text("action"), !action.isEmpty { filter.action = action }
        filter.integrationID = query.uuid("integration_id")
        filter.severity = query.oneOf("severity", ActivitySeverity.self)
        filter.actorType = query.oneOf("actor_type", ActivityActor.Kind.self)
        filter.actorID = query.uuid("actor_id")
        filter.since = query.timestamp("since")
        filter.until = query.timestamp("until")
        try query.check()
        return filter
    }
}
