import Logging
import ServiceLifecycle

/// The scheduler and sync supervisor. It starts, runs its loops until graceful shutdown, and stops.
struct Worker: Service {
    let store: Store
    let logger: Logger
    var beforeStart: (@Sendable () async throws -> Void)? = nil

    func run() async throws {
        try await beforeStart?()
        logger.info("worker started")
        // Nothing is scheduled yet: wait for the shutdown signal.
        try? await gracefulShutdown()
        logger.info("worker stopped")
    }
}
