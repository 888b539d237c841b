import Logging
import PostgresNIO

extension AppConfig {
    /// The process's one Postgres client. It answers queries only while it runs: as the first service
    /// of a long-running process (`ProcessSkeleton`), or for the length of a one-shot command (`withPostgres`).
    func makePostgresClient(logger: Logger, idleInTransactionLimit: Duration? = nil) -> PostgresClient {
        PostgresClient(configuration: database.clientConfiguration(idleInTransactionLimit: idleInTransactionLimit), backgroundLogger: logger)
    }
}

/// The Postgres client running for the length of `body`: the connection of the one-shot commands
/// (`migrate`, `keys rotate`, `run-task`). They handle no signals: SIGTERM ends them outright, which is
/// how the supervisor stops a run-task. Once `body` has ended, the client is given
/// `PostgresLifetime.stopLimit` to stop, so that the command always exits.
func withPostgres<Result: Sendable>(
    config: AppConfig,
    logger: Logger,
    idleInTransactionLimit: Duration? = nil,
    _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    let lifetime = PostgresLifetime(config.makePostgresClient(logger: logger, idleInTransactionLimit: idleInTransactionLimit))
    let result: Swift.Result<Result, any Error>
    do {
        result = .success(try await body(lifetime.client))
    } catch {
        result = .failure(error)
    }
    await lifetime.stop(logger: logger)
    return try result.get()
}
