import Logging
import PostgresNIO
import ServiceLifecycle

/// The process's Postgres client, running in a task of its own, so that stopping it takes at most
/// `PostgresLifetime.stopLimit`.
///
/// postgres-nio 1.33.2's pool does not always finish once cancelled: seen in full test runs, its
/// `run()` never returned although every connection was closed, and whatever waited for it (a
/// service group stopping, a run-task exiting) waited forever. Once every query of the process has
/// ended, nothing is lost by no longer waiting: the connections are closed, or go with the process.
struct PostgresLifetime: Sendable {
    static let stopLimit = Duration.seconds(10)

    let client: PostgresClient
    private let running: RunningTask

    /// Starts `client.run()`.
    init(_ client: PostgresClient) {
        self.client = client
        self.running = RunningTask { await client.run() }
    }

    /// Cancels the client and waits for it to finish, for `limit` at most; warns if it did not.
    func stop(within limit: Duration = stopLimit, logger: Logger) async {
        if await !running.stop(within: limit) {
            logger.warning("the Postgres client did not finish stopping; no longer waiting for it", metadata: ["limit": "\(limit)"])
        }
    }
}

/// The Postgres client as the first service of a long-running process: it runs until the process
/// stops, and stops last, within `PostgresLifetime.stopLimit`.
struct PostgresService: Service, CustomStringConvertible {
    let client: PostgresClient
    let logger: Logger

    var description: String { "PostgresService" }

    func run() async {
        let lifetime = PostgresLifetime(client)
        // Until the group shuts down gracefully, or is cancelled.
        try? await gracefulShutdown()
        await lifetime.stop(logger: logger)
    }
}
