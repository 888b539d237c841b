import Logging
import PostgresNIO
import ServiceLifecycle

/// What every long-running process (`serve`, `serve --worker`, `worker`) is made of: one Postgres
/// client, the services on it, and one startup (migrations, then the stored-key check) that runs once
/// before the HTTP server or the worker begins. Its `lifecycle` starts the client first, then the worker
/// and the outbox sender; `serve` hands it to the `Application`, which adds the HTTP server last. Either way a
/// `ServiceGroup` runs it (for `serve`, Hummingbird's `runService`), and SIGTERM or SIGINT stops it
/// gracefully, in reverse order.
struct ProcessSkeleton: Sendable {
    let postgres: PostgresClient
    let logger: Logger
    let services: Services
    let migrator: Migrator
    let startup: Startup
    let worker: Worker?
    let sender: OutboxSender?

    init(config: AppConfig, logger: Logger, runWorker: Bool) throws {
        let postgres = config.makePostgresClient(logger: logger)
        let migrator = try Migrator(client: postgres, config: config, logger: logger)
        guard let keyRing = config.keyRing else { throw VaultError.badKeyRing("no key given") }
        let services = Services(postgres: postgres, keyRing: keyRing, config: config, logger: logger)
        let startup = Startup {
            try await migrator.migrate()
            try await checkStoredKeys(store: services.store, keyRing: keyRing)
        }
        self.postgres = postgres
        self.logger = logger
        self.services = services
        self.migrator = migrator
        self.startup = startup
        self.worker =
            runWorker
            ? Worker(
                supervisor: Supervisor(
                    store: services.store,
                    refresher: services.refresher,
                    settings: config.worker,
                    childEnvironment: config.childEnvironment,
                    logger: logger
                ),
                startup: startup
            )
            : nil
        self.sender =
            runWorker
            ? OutboxSender(
                store: services.store,
                vault: services.vault,
                webhooks: services.webhookDelivery,
                settings: config.alerting,
                startup: startup,
                logger: logger
            )
            : nil
    }

    /// The services in start order; they stop in reverse, the Postgres client last (and within
    /// `PostgresLifetime.stopLimit`).
    var lifecycle: [any Service] {
        [PostgresService(client: postgres, logger: logger)] + (worker.map { [$0] } ?? []) + (sender.map { [$0] } ?? [])
    }
}

/// Runs the worker alone: `tributary worker`.
public func runWorker(config: AppConfig, logger: Logger) async throws {
    let skeleton = try ProcessSkeleton(config: config, logger: logger, runWorker: true)
    // The same signals as Hummingbird's `runService`, which runs `serve`.
    let group = ServiceGroup(
        configuration: .init(
            services: skeleton.lifecycle.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
    )
    try await group.run()
}
