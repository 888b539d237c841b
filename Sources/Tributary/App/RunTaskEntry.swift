import Foundation
import Logging
import PostgresNIO
import TributaryConnectors

#if canImport(Glibc)
import Glibc
#endif

/// `tributary run-task <run_id>`: runs one claimed run in this process and returns its exit code.
/// With `owner` (the supervisor's lease), the run is already claimed and the supervisor keeps the
/// lease; without it, the run-task claims the queued run itself and keeps its own lease.
public func runTaskMain(runID: UUID, owner: String?, config: AppConfig, logger: Logger) async -> Int32 {
    limitMemory(megabytes: config.worker.memoryLimitMB, logger: logger)
    guard let keyRing = config.keyRing else { return 2 }
    let postgres = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
    let services = Services(postgres: postgres, keyRing: keyRing, publicURL: config.publicURL, logger: logger)
    let store = services.store
    let task = RunTask(store: store, factory: services.factory, catalog: services.catalog, logger: logger)
    let parent = getppid()

    return await withTaskGroup(of: Int32?.self) { group in
        group.addTask {
            await postgres.run()
            return nil
        }
        group.addTask {
            let leaseOwner = owner ?? "run-task:\(ProcessInfo.processInfo.hostName):\(getpid())"
            do {
                let claimed =
                    if owner != nil {
                        try await store.claimedRun(id: runID, owner: leaseOwner)
                    } else {
                        try await store.claimQueuedRun(id: runID, owner: leaseOwner, leaseSeconds: config.worker.leaseSeconds)
                    }
                guard let claimed else {
                    report(code: "not_claimed", message: "run \(runID.lowercased) is not claimed by \(leaseOwner)", retryable: false)
                    return 1
                }
                try await store.setTaskPID(runID: runID, owner: leaseOwner, pid: getpid())
                try await withThrowingTaskGroup(of: Void.self) { work in
                    work.addTask {
                        // Supervised: die with the supervisor. Standalone: keep our own lease alive.
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(owner == nil ? max(1, config.worker.leaseSeconds / 3) : 1))
                            if owner != nil, getppid() != parent {
                                logger.error("supervisor is gone; stopping")
                                exit(3)
                            }
                            if owner == nil {
                                _ = try await store.heartbeat(runID: runID, owner: leaseOwner, leaseSeconds: config.worker.leaseSeconds)
                            }
                        }
                    }
                    try await task.execute(run: claimed, owner: leaseOwner)
                    work.cancelAll()
                }
                logger.info("run succeeded", metadata: ["run_id": "\(runID.lowercased)"])
                return 0
            } catch let error as ConnectorError {
                report(code: error.code, message: error.message, retryable: error.retryable)
            } catch is RecordsWriter.LeaseLost {
                report(code: "lease_lost", message: "another worker took over the run", retryable: false)
            } catch let error as StoreError {
                report(code: "database_error", message: "\(error)", retryable: true)
            } catch let error as PSQLError {
                report(code: "database_error", message: error.serverInfo?[.message] ?? "the database refused a batch", retryable: true)
            } catch let error as VaultError {
                report(code: "credential_unreadable", message: error.description, retryable: false)
            } catch {
                report(code: "internal_error", message: "\(type(of: error))", retryable: true)
            }
            return 1
        }
        var status: Int32 = 1
        for await result in group {
            if let result {
                status = result
                group.cancelAll()
            }
        }
        return status
    }

    func report(code: String, message: String, retryable: Bool) {
        logger.error("run failed", metadata: ["run_id": "\(runID.lowercased)", "code": "\(code)"])
        FileHandle.standardError.write(Data((RunTask.errorLine(code: code, message: message, retryable: retryable) + "\n").utf8))
    }
}

/// Caps the heap of this process (RLIMIT_DATA), so a connector that blows up fails alone.
private func limitMemory(megabytes: Int, logger: Logger) {
    var limit = rlimit()
    let bytes = rlim_t(megabytes) * 1024 * 1024
    limit.rlim_cur = bytes
    limit.rlim_max = bytes
    if setrlimit(Int32(RLIMIT_DATA.rawValue), &limit) != 0 {
        logger.warning("could not set the memory limit", metadata: ["megabytes": "\(megabytes)"])
    }
}
