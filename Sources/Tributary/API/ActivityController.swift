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
        let query = request.uri.queryParameters
        var errors: [FieldError] = []
        var filter = ActivityFilter()
        if let action = query["action"].map(String.init), !action.isEmpty {
            filter.action = action
        }
        if let text = query["integration_id"].map(String.init) {
            if let id = UUID(uuidString: text) {
                filter.integrationID = id
            } else {
                errors.append(FieldError(field: "integration_id", message: "must be a UUID"))
            }
        }
        let bounds: [(String, WritableKeyPath<ActivityFilter, Date?>)] = [("since", \.since), ("until", \.until)]
        for (name, keyPath) in bounds {
            guard let text = query[name[...]].map(String.init) else { continue }
            if let date = Timestamps.parse(text) {
                filter[keyPath: keyPath] = date
            } else {
                errors.append(FieldError(field: name, message: "must be an RFC 3339 timestamp"))
            }
        }
        guard errors.isEmpty else { throw APIError.badQuery(errors) }
        return filter
    }
}
