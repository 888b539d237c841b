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
    let migrator = try Migrator(client: postgres, config: config, logger: logger)
    let registry = PrometheusCollectorRegistry()
    guard let keyRing = config.keyRing else { throw VaultError.badKeyRing("no key given") }
    let services = Services(postgres: postgres, keyRing: keyRing, publicURL: config.publicURL, logger: logger)
    let store = services.store

    let router = buildRouter(
        services, migrator: migrator, registry: registry, adminToken: config.adminToken, maxAttempts: config.worker.maxAttempts,
        api: config.api)

    var lifecycle: [any Service] = [postgres]
    if runWorker {
        lifecycle.append(
            Worker(
                store: store, settings: config.worker, childEnvironment: config.childEnvironment, logger: logger,
                beforeStart: { try await migrator.migrate() }))
    }
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "tributary"),
        services: lifecycle,
        logger: logger
    )
    app.beforeServerStarts {
        try await migrator.migrate()
        try await checkStoredKeys(store: store, keyRing: keyRing)
    }
    return app
}

/// Applies pending migrations and returns: `tributary migrate`.
public func runMigrations(config: AppConfig, logger: Logger) async throws {
    try await withPostgres(config: config, logger: logger) { postgres in
        let migrator = try Migrator(client: postgres, config: config, logger: logger)
        let applied = try await migrator.migrate()
        logger.info("migrations up to date", metadata: ["applied": "\(applied.count)", "version": "\(migrator.latestVersion)"])
    }
}

/// Runs the worker alone: `tributary worker`.
public func runWorker(config: AppConfig, logger: Logger) async throws {
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    let store = Store(client: postgres, logger: logger)
    let migrator = try Migrator(client: postgres, config: config, logger: logger)
    guard let keyRing = config.keyRing else { throw VaultError.badKeyRing("no key given") }
    let worker = Worker(
        store: store, settings: config.worker, childEnvironment: config.childEnvironment, logger: logger,
        beforeStart: {
            try await migrator.migrate()
            try await checkStoredKeys(store: store, keyRing: keyRing)
        })
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: postgres), .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

/// Re-seals every secret under the first key: `tributary keys rotate`.
public func rotateKeys(config: AppConfig, logger: Logger) async throws -> (rewritten: Int, unreadable: Int) {
    guard let keyRing = config.keyRing else { throw VaultError.badKeyRing("no key given") }
    return try await withPostgres(config: config, logger: logger) { postgres in
        let summary = try await KeyRotation(store: Store(client: postgres, logger: logger), keyRing: keyRing, logger: logger).run()
        return (summary.rewritten, summary.unreadable)
    }
}

/// A Postgres client running for the length of `body`: the one-shot commands' connection.
func withPostgres<Result: Sendable>(
    config: AppConfig, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> Result
) async throws -> Result {
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await postgres.run() }
        defer { group.cancelAll() }
        return try await body(postgres)
    }
}
