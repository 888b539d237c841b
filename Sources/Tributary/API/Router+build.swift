import Hummingbird
import Prometheus
import TributaryConnectors

/// The routes of the API over the services every process shares, plus what only the HTTP side
/// needs: the migrator and metrics registry for health and metrics, the admin token, and how
/// many attempts a queued run gets.
func buildRouter(
    _ services: Services,
    migrator: Migrator,
    registry: PrometheusCollectorRegistry,
    adminToken: String,
    maxAttempts: Int,
    api: APISettings,
    limits: TenantLimits,
    checker: CheckRunner,
    emailReadiness: String
) -> Router<AppRequestContext> {
    // HEAD answers as GET would, without the body (RFC 9110 §9.3.2).
    let options: RouterOptions = .autoGenerateHeadEndpoints
    let router = Router(context: AppRequestContext.self, options: options)
    router.add(middleware: ObservabilityMiddleware(metrics: HTTPMetrics(registry: registry)))
    router.add(middleware: ProblemMiddleware())
    router.addRoutes(HealthController(migrator: migrator, registry: registry, email: emailReadiness).endpoints)

    let keys = KeyCache()
    let v1 = router.group("v1")
        .add(middleware: AuthMiddleware(store: services.store, keys: keys, adminToken: adminToken))
        .group(context: AuthenticatedContext.self)
    if let limit = api.rateLimit {
        v1.add(middleware: RateLimitMiddleware(limiter: RequestRateLimiter(limit: limit)))
    }
    v1.add(middleware: IdempotencyMiddleware(store: services.store, keyRing: services.vault.keyRing))
    v1.addRoutes(TenantsController(store: services.store, keys: keys).endpoints, atPath: "tenants")
    v1.addRoutes(APIKeysController(store: services.store, keys: keys).endpoints, atPath: "tenants/:tenant_id/api-keys")
    v1.addRoutes(ActivityController(store: services.store).endpoints, atPath: "tenants/:tenant_id/activity")
    v1.addRoutes(ProvidersController(catalog: services.catalog).endpoints, atPath: "providers")
    let integrations = IntegrationsController(
        store: services.store,
        vault: services.vault,
        catalog: services.catalog,
        maxAttempts: maxAttempts,
        limits: limits
    )
    v1.addRoutes(integrations.endpoints, atPath: "tenants/:tenant_id/integrations")
    let syncs = SyncsController(store: services.store, catalog: services.catalog, checker: checker, maxAttempts: maxAttempts)
    v1.addRoutes(syncs.endpoints, atPath: "tenants/:tenant_id/integrations/:integration_id")
    v1.addRoutes(
        RecordsController(store: services.store, pageBytes: api.recordsPageBytes).endpoints,
        atPath: "tenants/:tenant_id/integrations/:integration_id"
    )
    v1.addRoutes(AlertSettingsController(store: services.store).endpoints, atPath: "tenants/:tenant_id/integrations/:integration_id")
    v1.addRoutes(AlertsController(store: services.store).endpoints, atPath: "tenants/:tenant_id/alerts")
    let webhooks = WebhooksController(store: services.store, vault: services.vault, delivery: services.webhookDelivery, limits: limits)
    v1.addRoutes(webhooks.endpoints, atPath: "tenants/:tenant_id/webhooks")
    let oauth = OAuthController(store: services.store, flow: services.flow, catalog: services.catalog)
    v1.addRoutes(oauth.endpoints)
    router.addRoutes(oauth.callback)
    // Last, so that it wraps only the not-found responder (see its doc).
    router.add(
        middleware: MethodNotAllowedMiddleware(
            routes: AllowedMethods(router.routes, headWithGet: options.contains(.autoGenerateHeadEndpoints))
        )
    )
    return router
}
