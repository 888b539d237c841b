import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `tributary run-task <run_id>`: runs one claimed run in this process and returns its exit code
/// (`OutcomeReporter.ExitCode`). With `owner` (the supervisor's lease), the run is already claimed and
/// the supervisor keeps the lease; without it, the run-task claims the queued run itself and keeps its
/// own lease.
public func runTaskMain(runID: UUID, owner: String?, config: AppConfig, logger: Logger) async -> Int32 {
    limitMemory(megabytes: config.worker.memoryLimitMB, logger: logger)
    guard let keyRing = config.keyRing else { return OutcomeReporter.ExitCode.noKeyRing }
    let reporter = OutcomeReporter(runID: runID, logger: logger)
    do {
        return try await withPostgres(config: config, logger: logger) { postgres in
            // Under a supervisor, which makes its token calls; started by hand, it makes them itself.
            let services = Services(
                postgres: postgres,
                keyRing: keyRing,
                config: config,
                logger: logger,
                refreshes: owner == nil ? .here : .byParent
            )
            let lease = LeaseKeeper(
                store: services.store,
                runID: runID,
                supervisorOwner: owner,
                leaseSeconds: config.worker.leaseSeconds,
                logger: logger
            )
            let claimed = try await lease.claim()
            // The secrets the run starts with, and (below) those stored when it fails: a token
            // refreshed meanwhile is redacted too.
            let integration = try await services.store.integration(tenantID: claimed.tenantID, id: claimed.integrationID)
            let redactor = await services.redactor(for: integration, logger: logger)
            let task = RunTask(
                store: services.store,
                factory: services.factory,
                catalog: services.catalog,
                limits: config.limits,
                streamsPerRun: config.worker.streamsPerRun,
                logger: logger
            )
            do {
                try await lease.holding { try await task.execute(run: claimed, owner: lease.owner) }
                return reporter.succeeded()
            } catch {
                let now = await services.redactor(for: integration, logger: logger)
                return reporter.failed(error, redactor: redactor.merging(now))
            }
        }
    } catch {
        return reporter.failed(error, redactor: .none)
    }
}

extension Services {
    /// The redactor of `integration`'s secrets; none for an integration that is gone.
    func redactor(for integration: Integration?, logger: Logger) async -> SecretRedactor {
        guard let integration else { return .none }
        return await SecretRedactor.forIntegration(integration, store: store, vault: vault, logger: logger)
    }
}

/// Caps the heap of this process (RLIMIT_DATA), so a connector that blows up fails alone.
func limitMemory(megabytes: Int, logger: Logger) {
    var limit = rlimit()
    let bytes = rlim_t(megabytes) * 1024 * 1024
    limit.rlim_cur = bytes
    limit.rlim_max = bytes
    if setrlimit(Int32(RLIMIT_DATA.rawValue), &limit) != 0 {
        logger.warning("could not set the memory limit", metadata: ["megabytes": "\(megabytes)"])
    }
}
