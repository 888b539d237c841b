import Hummingbird
import TributaryConnectors

/// `/v1/providers`: the connector catalog.
struct ProvidersController {
    let catalog: ProviderCatalog

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get(use: list)
    }

    struct Body: Encodable, Sendable {
        var data: [ProviderDescriptor]
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Body> {
        JSONResponse(Body(data: catalog.providers))
    }
}
