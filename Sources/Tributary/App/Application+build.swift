import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle
import TributaryConnectors

/// Builds the whole server from its configuration: main calls this, and so do the tests.
public func buildApplication(
    config: AppConfig, logger: Logger, runWorker: Bool = false
) throws -> some ApplicationProtocol {
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    let store = Store(client: postgres, logger: logger)
    let migrationsDirectory = try Migration.locateDirectory(configured: config.migrationsDirectory)
    logger.info("using migrations", metadata: ["directory": "\(migrationsDirectory.path)"])
    let migrator = try Migrator(client: postgres, directory: migrationsDirectory, logger: logger)
    let registry = PrometheusCollectorRegistry()

    let router = buildRouter(
        RouterDependencies(
            store: store, migrator: migrator, registry: registry, catalog: .standard, adminToken: config.adminToken))

    var services: [any Service] = [postgres]
    if runWorker {
        services.append(Worker(store: store, logger: logger))
    }
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "tributary"),
        services: services,
        logger: logger
    )
    app.beforeServerStarts {
        try await migrator.migrate()
    }
    return app
}

/// Applies pending migrations and returns: `tributary migrate`.
public func runMigrations(config: AppConfig, logger: Logger) async throws {
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    let directory = try Migration.locateDirectory(configured: config.migrationsDirectory)
    logger.info("using migrations", metadata: ["directory": "\(directory.path)"])
    let migrator = try Migrator(client: postgres, directory: directory, logger: logger)
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { await postgres.run() }
        let applied = try await migrator.migrate()
        logger.info("migrations up to date", metadata: ["applied": "\(applied.count)", "version": "\(migrator.latestVersion)"])
        group.cancelAll()
    }
}

/// Runs the worker alone: `tributary worker`.
public func runWorker(config: AppConfig, logger: Logger) async throws {
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    let store = Store(client: postgres, logger: logger)
    let directory = try Migration.locateDirectory(configured: config.migrationsDirectory)
    let migrator = try Migrator(client: postgres, directory: directory, logger: logger)
    let worker = Worker(store: store, logger: logger, beforeStart: { try await migrator.migrate() })
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: postgres), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}
