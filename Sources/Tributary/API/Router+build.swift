import Hummingbird
import Prometheus
import TributaryConnectors

/// Everything the routes need, built once by the application builder.
struct RouterDependencies: Sendable {
    var services: Services
    var migrator: Migrator
    var registry: PrometheusCollectorRegistry
    var adminToken: String
    var worker: WorkerSettings

    var store: Store { services.store }
    var catalog: ProviderCatalog { services.catalog }
    var vault: CredentialVault { services.vault }
    var oauthFlow: OAuthFlow { services.flow }
}

func buildRouter(_ dependencies: RouterDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ObservabilityMiddleware(metrics: HTTPMetrics(registry: dependencies.registry)))
    router.add(middleware: ProblemMiddleware())
    router.addRoutes(HealthController(migrator: dependencies.migrator, registry: dependencies.registry).endpoints)

    let v1 = router.group("v1")
        .add(middleware: AuthMiddleware(store: dependencies.store, adminToken: dependencies.adminToken))
        .group(context: AuthenticatedContext.self)
    v1.addRoutes(TenantsController(store: dependencies.store).endpoints, atPath: "tenants")
    v1.addRoutes(APIKeysController(store: dependencies.store).endpoints, atPath: "tenants/:tenant_id/api-keys")
    v1.addRoutes(ActivityController(store: dependencies.store).endpoints, atPath: "tenants/:tenant_id/activity")
    v1.addRoutes(ProvidersController(catalog: dependencies.catalog).endpoints, atPath: "providers")
    let integrations = IntegrationsController(
        store: dependencies.store, vault: dependencies.vault, catalog: dependencies.catalog,
        maxAttempts: dependencies.worker.maxAttempts)
    v1.addRoutes(integrations.endpoints, atPath: "tenants/:tenant_id/integrations")
    let syncs = SyncsController(
        store: dependencies.store, integrations: integrations, factory: dependencies.services.factory,
        maxAttempts: dependencies.worker.maxAttempts)
    v1.addRoutes(syncs.endpoints, atPath: "tenants/:tenant_id/integrations/:integration_id")
    v1.addRoutes(
        RecordsController(store: dependencies.store, integrations: integrations).endpoints,
        atPath: "tenants/:tenant_id/integrations/:integration_id")
    let oauth = OAuthController(store: dependencies.store, flow: dependencies.oauthFlow, catalog: dependencies.catalog)
    v1.addRoutes(oauth.endpoints)
    router.addRoutes(oauth.callback)
    return router
}
