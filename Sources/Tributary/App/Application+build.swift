import Hummingbird
import Logging
import Prometheus

/// Builds the whole server from its configuration: main calls this, and so do the tests.
/// `runService()` runs it until SIGTERM or SIGINT.
public func buildApplication(
    config: AppConfig,
    logger: Logger,
    runWorker: Bool = false
) throws -> some ApplicationProtocol {
    let skeleton = try ProcessSkeleton(config: config, logger: logger, runWorker: runWorker)
    let services = skeleton.services
    let migrator = skeleton.migrator
    let registry = PrometheusCollectorRegistry()

    let router = buildRouter(
        services,
        migrator: migrator,
        registry: registry,
        adminToken: config.adminToken,
        maxAttempts: config.worker.maxAttempts,
        api: config.api,
        limits: config.limits,
        checker: CheckRunner(settings: config.worker, environment: config.childEnvironment)
    )

    var app = Application(
        router: router,
        // Hummingbird's idle timer restarts only when a whole request part arrives, so a head
        // trickled byte by byte is cut off too.
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(config.api.idleTimeoutSeconds)))),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "tributary"),
        services: skeleton.lifecycle,
        logger: logger
    )
    app.beforeServerStarts { try await skeleton.startup.ready() }
    return app
}
