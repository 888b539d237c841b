import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Subprocess

/// Claims runs and runs each in its own `tributary run-task` process: keeps its lease alive,
/// stops it on cancel, timeout, lost lease or shutdown, and records how it ended. A crash, hang
/// or memory blow-up of one run-task never touches the supervisor or the other runs.
struct Supervisor: Sendable {
    let store: Store
    /// Makes the token refreshes the run-tasks ask for.
    let refresher: TokenRefresher
    let settings: WorkerSettings
    let childEnvironment: [String: String]
    let logger: Logger
    let owner: String

    init(store: Store, refresher: TokenRefresher, settings: WorkerSettings, childEnvironment: [String: String], logger: Logger) {
        self.store = store
        self.refresher = refresher
        self.settings = settings
        self.childEnvironment = childEnvironment
        self.logger = logger
        self.owner = "worker:\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }

    func run() async {
        let active = NIOLockedValueBox(0)
        var lastReclaim = ContinuousClock.now - .seconds(3600)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if ContinuousClock.now - lastReclaim > .seconds(max(1, settings.leaseSeconds / 2)) {
                    await reclaimExpired()
                    lastReclaim = .now
                }
                // As many claims at once as slots are free: one claim lock and one commit for them all.
                while case let free = settings.concurrency - active.withLockedValue({ $0 }), free > 0, !Task.isShuttingDownGracefully {
                    // A token per claim: a run this worker lost and claims again is a new claim,
                    // and an old run-task of it can no longer pass the write fence.
                    let tokens = (0..<free).map { _ in "\(owner)#\(UUID().uuidString.prefix(8).lowercased())" }
                    let claimed: [ClaimedRun]
                    do {
                        claimed = try await store.claimRuns(
                            owners: tokens,
                            leaseSeconds: settings.leaseSeconds,
                            limits: ClaimLimits(perTenant: settings.perTenant, perProvider: settings.perProvider)
                        )
                    } catch {
                        logger.warning("could not claim a run", metadata: ["error": "\(error)"])
                        break
                    }
                    for (run, token) in zip(claimed, tokens) {
                        active.withLockedValue { $0 += 1 }
                        group.addTask {
                            await supervise(run, token: token)
                            active.withLockedValue { $0 -= 1 }
                        }
                    }
                    if claimed.count < free { break }
                }
                // A shutdown need not wait out the poll interval (up to a minute).
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
            }
            logger.info("supervisor stopping", metadata: ["running": "\(active.withLockedValue { $0 })"])
        }
    }

    /// Why the supervisor stopped a run-task before it ended by itself.
    private enum Stop {
        case cancelled, leaseLost, timedOut, shutdown
    }

    private func supervise(_ run: ClaimedRun, token: String) async {
        var log = logger
        log[metadataKey: "run_id"] = "\(run.id.lowercased)"
        log[metadataKey: "integration_id"] = "\(run.integrationID.lowercased)"
        let finished: RunTaskProcess.Finished<Stop>
        // Once `watch` decides to stop the run-task, stopping it may take a while (SIGTERM, SIGKILL after
        // the grace, the exit seen): the lease is kept meanwhile, so that no worker reclaims the run, as
        // lapsed, while its run-task still runs.
        let keeping = NIOLockedValueBox<Task<Void, Never>?>(nil)
        defer { keeping.withLockedValue { $0?.cancel() } }
        do {
            finished = try await RunTaskProcess.run(
                binary: settings.runTaskBinary,
                arguments: ["run-task", run.id.lowercased, "--lease-owner", token],
                environment: childEnvironment,
                logger: log
            ) { [log] pid in
                log.info("run-task started", metadata: ["pid": "\(pid)", "attempt": "\(run.attempt)"])
                // The run-task's token refreshes are made here, until there is a reason to stop it; one
                // under way then is finished first.
                let stop = await refresher.serving(integrationID: run.integrationID) { await watch(run, token: token, log: log) }
                if stop != .leaseLost { keeping.withLockedValue { $0 = Task { await keepLease(run, token: token) } } }
                return stop
            }
        } catch {
            log.error("could not start run-task", metadata: ["binary": "\(settings.runTaskBinary)", "error": "\(error)"])
            await fail(run, token: token, RunError(code: "run_task_unavailable", message: "the run-task process could not start"), retryable: true)
            return
        }
        // Cancelled from outside, the output may end before `watch` answers: that too is a shutdown.
        let stop = finished.stop ?? (Task.isCancelled ? .shutdown : nil)
        log.info("run-task ended", metadata: ["ending": "\(finished.ending)", "stopped": "\(stop.map { "\($0)" } ?? "no")"])

        switch stop {
        case .cancelled:
            do {
                try await store.finishCancelled(runID: run.id, owner: token)
            } catch {
                log.error("could not record a cancelled run", metadata: ["error": "\(error)"])
            }
        case .leaseLost:
            log.warning("lease lost; another worker has the run")
        case .timedOut:
            await fail(run, token: token, RunError(code: "run_timeout", message: "the run took longer than \(settings.runTimeout)"), retryable: true)
        case .shutdown:
            do {
                try await store.releaseRun(runID: run.id, owner: token)
            } catch {
                log.error("could not release a run at shutdown; its lease will lapse", metadata: ["error": "\(error)"])
            }
        case nil:
            await settle(run, token: token, finished: finished, log: log)
        }
    }

    /// Renews the lease every third of it until cancelled, whatever the heartbeat answers.
    private func keepLease(_ run: ClaimedRun, token: String) async {
        let beat = LeaseKeeper.heartbeat(forLease: settings.leaseSeconds)
        while !Task.isCancelled {
            _ = try? await store.heartbeat(runID: run.id, owner: token, leaseSeconds: settings.leaseSeconds)
            try? await Task.sleep(for: beat)
        }
    }

    /// Renews the lease of a running run-task every third of it, until there is a reason to stop the
    /// run-task: cancelled, lease lost, past the deadline, or the worker shutting down. It is itself
    /// cancelled when the run-task ends first.
    private func watch(_ run: ClaimedRun, token: String, log: Logger) async -> Stop {
        let deadline = ContinuousClock.now + settings.runTimeout
        let beat = LeaseKeeper.heartbeat(forLease: settings.leaseSeconds)
        var nextBeat = ContinuousClock.now + beat
        var lastBeat = ContinuousClock.now
        while true {
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isShuttingDownGracefully || Task.isCancelled { return .shutdown }
            if ContinuousClock.now > deadline { return .timedOut }
            guard ContinuousClock.now >= nextBeat else { continue }
            nextBeat = .now + beat
            do {
                switch try await store.heartbeat(runID: run.id, owner: token, leaseSeconds: settings.leaseSeconds) {
                case true?: return .cancelled
                case nil: return .leaseLost
                case false?: lastBeat = .now
                }
            } catch  where Task.isCancelled {
                return .shutdown
            } catch {
                // A database hiccup is not a lost lease: keep trying until the lease itself would lapse.
                log.warning("heartbeat failed", metadata: ["error": "\(error)"])
                if ContinuousClock.now - lastBeat > .seconds(settings.leaseSeconds) { return .leaseLost }
            }
        }
    }

    /// Records how a run-task that ended by itself went. Only its structured report reaches the run's
    /// error; what it printed otherwise goes to this worker's log, never to the tenant.
    private func settle(_ run: ClaimedRun, token: String, finished: RunTaskProcess.Finished<Stop>, log: Logger) async {
        if finished.ending == .exited(0) {
            // The run-task marks its run succeeded itself; if it did not, it did not finish.
            if (try? await store.run(id: run.id))??.status == .succeeded { return }
            await fail(
                run,
                token: token,
                RunError(code: "run_task_incomplete", message: "the run-task exited without finishing the run"),
                retryable: true
            )
            return
        }
        if let reported = RunTaskReport.last(in: finished.report) {
            await fail(run, token: token, RunError(code: reported.code, message: reported.message), retryable: reported.retryable)
            return
        }
        let how = Self.describe(finished.ending)
        log.warning(
            "run-task crashed without a report",
            metadata: ["ending": "\(how)", "log_tail": "\(Self.oneLine(finished.log))", "stdout_tail": "\(Self.oneLine(finished.report))"]
        )
        await fail(run, token: token, RunError(code: "run_task_crashed", message: "the run-task \(how)"), retryable: true)
    }

    /// The last few kilobytes of what a child printed, on one log line (newlines written `\n`).
    static func oneLine(_ output: String, last: Int = 4096) -> String {
        String(output.suffix(last)).trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "\\n")
    }

    /// How a child process ended, in words for a run's error: its exit status or its signal.
    static func describe(_ ending: TerminationStatus) -> String {
        switch ending {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "was killed by signal \(signal)\(signal == SIGKILL ? " (out of memory, or killed)" : "")"
        }
    }

    /// Every error a run records passes here, bounded (`RunError.bounded`).
    private func fail(_ run: ClaimedRun, token: String, _ error: RunError, retryable: Bool) async {
        let error = error.bounded
        do {
            let outcome = try await store.failRun(
                runID: run.id,
                owner: token,
                error: error,
                retryable: retryable,
                backoff: settings.backoff(afterAttempt: run.attempt)
            )
            logger.info("run attempt failed", metadata: ["run_id": "\(run.id.lowercased)", "code": "\(error.code)", "outcome": "\(outcome)"])
        } catch {
            logger.error("could not record a failed run", metadata: ["run_id": "\(run.id.lowercased)", "error": "\(error)"])
        }
    }

    /// Runs whose worker died: retried (or failed for good) as any other failed attempt.
    private func reclaimExpired() async {
        do {
            for expired in try await store.expiredRuns(limit: 100) {
                let attempt = (try? await store.run(id: expired.id))??.attempt ?? 1
                let outcome = try await store.failRun(
                    runID: expired.id,
                    owner: expired.owner,
                    lapsed: true,
                    error: RunError.bounded(code: "lease_expired", message: "the worker running this run stopped renewing its lease"),
                    retryable: true,
                    backoff: .zero
                )
                logger.warning(
                    "reclaimed a run from a silent worker",
                    metadata: [
                        "run_id": "\(expired.id.lowercased)", "previous_owner": "\(expired.owner)", "attempt": "\(attempt)", "outcome": "\(outcome)",
                    ]
                )
            }
        } catch {
            logger.warning("could not reclaim expired runs", metadata: ["error": "\(error)"])
        }
    }
}
