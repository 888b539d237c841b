import Logging
import PostgresNIO

extension AppConfig {
    /// The process's one Postgres client. It answers queries only while it runs: as the first service
    /// of a long-running process (`ProcessSkeleton`), or for the length of a one-shot command (`withPostgres`).
    ///
    /// A process frozen inside a transaction (its host stopped, say) must not hold what it locked
    /// past a lease: a worker the claim lock every other worker waits on, a run-task its run's
    /// rows that the worker taking the run over writes. Postgres ends such a session after
    /// `leaseSeconds` idle in its transaction. Every transaction is the Store's, and waits on
    /// nothing but Postgres between its statements.
    func makePostgresClient(logger: Logger) -> PostgresClient {
        PostgresClient(
            configuration: database.clientConfiguration(idleInTransactionLimit: .seconds(worker.leaseSeconds)),
            backgroundLogger: logger
        )
    }
}

/// The Postgres client running for the length of `body`: the connection of the one-shot commands
/// (`migrate`, `keys rotate`, `run-task`). They handle no signals: SIGTERM ends them outright, which is
/// how the supervisor stops a run-task. Once `body` has ended, the client is given
/// `PostgresLifetime.stopLimit` to stop, so that the command always exits.
func withPostgres<Result: Sendable>(
    config: AppConfig,
    logger: Logger,
    _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    let lifetime = PostgresLifetime(config.makePostgresClient(logger: logger))
    let result: Swift.Result<Result, any Error>
    do {
        result = .success(try await body(lifetime.client))
    } catch {
        result = .failure(error)
    }
    await lifetime.stop(logger: logger)
    return try result.get()
}
