import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TributaryConnectors

/// Claims runs and runs each in its own `tributary run-task` process: keeps its lease alive,
/// stops it on cancel, timeout, lost lease or shutdown, and records how it ended. A crash, hang
/// or memory blow-up of one run-task never touches the supervisor or the other runs.
struct Supervisor: Sendable {
    let store: Store
    let settings: WorkerSettings
    let childEnvironment: [String: String]
    let logger: Logger
    let owner: String

    init(store: Store, settings: WorkerSettings, childEnvironment: [String: String], logger: Logger) {
        self.store = store
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
                while active.withLockedValue({ $0 }) < settings.concurrency, !Task.isShuttingDownGracefully {
                    let claimed: ClaimedRun?
                    do {
                        claimed = try await store.claimRun(
                            owner: owner, leaseSeconds: settings.leaseSeconds,
                            limits: ClaimLimits(perTenant: settings.perTenant, perProvider: settings.perProvider))
                    } catch {
                        logger.warning("could not claim a run", metadata: ["error": "\(error)"])
                        break
                    }
                    guard let claimed else { break }
                    active.withLockedValue { $0 += 1 }
                    group.addTask {
                        await supervise(claimed)
                        active.withLockedValue { $0 -= 1 }
                    }
                }
                try? await Task.sleep(for: settings.pollInterval)
            }
            logger.info("supervisor stopping", metadata: ["running": "\(active.withLockedValue { $0 })"])
        }
    }

    /// Why the supervisor stopped a run-task before it ended by itself.
    private enum Stop {
        case cancelled, leaseLost, timedOut, shutdown
    }

    private func supervise(_ run: ClaimedRun) async {
        var log = logger
        log[metadataKey: "run_id"] = "\(run.id.lowercased)"
        log[metadataKey: "integration_id"] = "\(run.integrationID.lowercased)"
        let child: RunTaskProcess
        do {
            child = try RunTaskProcess(
                binary: settings.runTaskBinary, arguments: ["run-task", run.id.lowercased, "--lease-owner", owner],
                environment: childEnvironment)
        } catch {
            log.error("could not start run-task", metadata: ["binary": "\(settings.runTaskBinary)"])
            await fail(run, RunError(code: "run_task_unavailable", message: "the run-task process could not start"), retryable: true)
            return
        }
        log.info("run-task started", metadata: ["pid": "\(child.pid)", "attempt": "\(run.attempt)"])
        let deadline = ContinuousClock.now + settings.runTimeout
        let beat = Duration.seconds(max(1, settings.leaseSeconds / 3))
        var nextBeat = ContinuousClock.now + beat
        var stop: Stop?
        while child.isRunning, stop == nil {
            try? await Task.sleep(for: .milliseconds(100))
            if Task.isShuttingDownGracefully || Task.isCancelled {
                stop = .shutdown
            } else if ContinuousClock.now > deadline {
                stop = .timedOut
            } else if ContinuousClock.now >= nextBeat {
                nextBeat = .now + beat
                switch try? await store.heartbeat(runID: run.id, owner: owner, leaseSeconds: settings.leaseSeconds) {
                case .some(true): stop = .cancelled
                case .none: stop = .leaseLost
                default: break
                }
            }
        }
        if stop != nil { await child.stop() }
        let ending = await child.waitForExit()
        log.info("run-task ended", metadata: ["ending": "\(ending)", "stopped": "\(stop.map { "\($0)" } ?? "no")"])

        switch stop {
        case .cancelled:
            try? await store.finishCancelled(runID: run.id, owner: owner)
        case .leaseLost:
            log.warning("lease lost; another worker has the run")
        case .timedOut:
            await fail(run, RunError(code: "run_timeout", message: "the run took longer than \(settings.runTimeout)"), retryable: true)
        case .shutdown:
            await fail(run, RunError(code: "worker_shutdown", message: "the worker shut down during the run"), retryable: true, immediately: true)
        case nil:
            await settle(run, ending: ending, output: child.outputText)
        }
    }

    /// Records how a run-task that ended by itself went.
    private func settle(_ run: ClaimedRun, ending: RunTaskProcess.Ending, output: String) async {
        if ending == .exited(0) {
            // The run-task marks its run succeeded itself; if it did not, it did not finish.
            if (try? await store.run(id: run.id))??.status == .succeeded { return }
            await fail(run, RunError(code: "run_task_incomplete", message: "the run-task exited without finishing the run"), retryable: true)
            return
        }
        if let reported = Self.reportedError(in: output) {
            await fail(run, RunError(code: reported.code, message: reported.message), retryable: reported.retryable)
            return
        }
        let how =
            switch ending {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "was killed by signal \(signal)\(signal == SIGKILL ? " (out of memory, or killed)" : "")"
            }
        let tail = String(output.suffix(1500)).trimmingCharacters(in: .whitespacesAndNewlines)
        await fail(run, RunError(code: "run_task_crashed", message: "the run-task \(how)" + (tail.isEmpty ? "" : "; last output: \(tail)")), retryable: true)
    }

    private func fail(_ run: ClaimedRun, _ error: RunError, retryable: Bool, immediately: Bool = false) async {
        do {
            let outcome = try await store.failRun(
                runID: run.id, owner: owner, error: error, retryable: retryable,
                backoff: immediately ? .zero : settings.backoff(afterAttempt: run.attempt))
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
                    runID: expired.id, owner: nil,
                    error: RunError(code: "lease_expired", message: "the worker running this run stopped renewing its lease"),
                    retryable: true, backoff: .zero)
                logger.warning("reclaimed a run from a silent worker", metadata: [
                    "run_id": "\(expired.id.lowercased)", "previous_owner": "\(expired.owner)", "attempt": "\(attempt)", "outcome": "\(outcome)",
                ])
            }
        } catch {
            logger.warning("could not reclaim expired runs", metadata: ["error": "\(error)"])
        }
    }

    struct Reported: Decodable {
        var code: String
        var message: String
        var retryable: Bool
    }

    /// The last `TRIBUTARY_ERROR {json}` line the run-task printed.
    static func reportedError(in output: String) -> Reported? {
        for line in output.split(separator: "\n").reversed() {
            guard let range = line.range(of: RunTask.errorMarker) else { continue }
            return try? JSONDecoder().decode(Reported.self, from: Data(line[range.upperBound...].utf8))
        }
        return nil
    }
}
