import Logging
import ServiceLifecycle

/// The scheduler and the sync supervisor: `tributary worker`, or inside `serve --worker`.
struct Worker: Service {
    let supervisor: Supervisor
    /// Migrations and the key check: no run is claimed before the schema is there.
    let startup: Startup

    private var store: Store { supervisor.store }
    private var settings: WorkerSettings { supervisor.settings }
    private var logger: Logger { supervisor.logger }

    func run() async throws {
        try await startup.ready()
        logger.info("worker started", metadata: ["concurrency": "\(settings.concurrency)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await scheduleLoop() }
            group.addTask { await supervisor.run() }
        }
        logger.info("worker stopped")
    }

    /// Queues what is due, every `schedulerInterval`; any number of workers may do this at once.
    private func scheduleLoop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let queued = try await store.enqueueDue(maxAttempts: settings.maxAttempts)
                if queued > 0 { logger.info("scheduled runs", metadata: ["queued": "\(queued)"]) }
            } catch {
                logger.warning("scheduler could not queue runs", metadata: ["error": "\(error)"])
            }
            // A shutdown need not wait out the interval (up to ten minutes).
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.schedulerInterval) }
        }
    }
}
