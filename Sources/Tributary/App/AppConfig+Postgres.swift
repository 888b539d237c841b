import Logging
import PostgresNIO

extension AppConfig {
    /// The process's one Postgres client. It answers queries only while it runs: as the first service
    /// of a long-running process (`ProcessSkeleton`), or for the length of a one-shot command (`withPostgres`).
    func makePostgresClient(logger: Logger) -> PostgresClient {
        PostgresClient(configuration: database.clientConfiguration(), backgroundLogger: logger)
    }
}

/// The Postgres client running for the length of `body`: the connection of the one-shot commands
/// (`migrate`, `keys rotate`, `run-task`). They handle no signals: SIGTERM ends them outright, which is
/// how the supervisor stops a run-task.
func withPostgres<Result: Sendable>(
    config: AppConfig,
    logger: Logger,
    _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    let postgres = config.makePostgresClient(logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await postgres.run() }
        defer { group.cancelAll() }
        return try await body(postgres)
    }
}
