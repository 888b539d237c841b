import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A run-task's hold on its run. Supervised (started by the supervisor with its lease token), the
/// supervisor renews the lease: the keeper checks the claim and ends the run when the supervisor is
/// gone. Standalone (started by hand), the keeper claims the queued run itself and renews its lease.
struct LeaseKeeper: Sendable {
    /// How often a lease of `leaseSeconds` is renewed: every third of it, so two renewals may fail
    /// before it lapses.
    static func heartbeat(forLease leaseSeconds: Int) -> Duration { .seconds(max(1, leaseSeconds / 3)) }

    enum Mode: Sendable {
        /// `parent` is the supervisor's pid; the run-task is reparented when it dies.
        case supervised(parent: pid_t)
        case standalone
    }

    let store: Store
    let runID: UUID
    /// The lease owner the run's writes are fenced with.
    let owner: String
    let mode: Mode
    let leaseSeconds: Int
    let logger: Logger

    /// `supervisorOwner` is the lease token the supervisor claimed the run with, if it started this process.
    init(store: Store, runID: UUID, supervisorOwner: String?, leaseSeconds: Int, logger: Logger) {
        self.store = store
        self.runID = runID
        self.owner = supervisorOwner ?? "run-task:\(ProcessInfo.processInfo.hostName):\(getpid())"
        self.mode = supervisorOwner == nil ? .standalone : .supervised(parent: getppid())
        self.leaseSeconds = leaseSeconds
        self.logger = logger
    }

    /// The run is not (or no longer) claimed by `owner`.
    struct NotClaimed: Error {
        var runID: UUID
        var owner: String
    }

    /// The supervisor that started this process is gone: nobody renews the lease or reads the outcome.
    struct SupervisorGone: Error {}

    /// The run as this process holds it, with this process's pid recorded on it.
    func claim() async throws -> ClaimedRun {
        let claimed =
            switch mode {
            case .supervised: try await store.claimedRun(id: runID, owner: owner)
            case .standalone: try await store.claimQueuedRun(id: runID, owner: owner, leaseSeconds: leaseSeconds)
            }
        guard let claimed else { throw NotClaimed(runID: runID, owner: owner) }
        try await store.setTaskPID(runID: runID, owner: owner, pid: getpid())
        return claimed
    }

    /// Runs `work` while holding the lease. Whichever ends first ends the other: `work` ending stops
    /// the keeping, and a gone supervisor cancels `work` and throws `SupervisorGone`.
    func holding(_ work: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await work() }
            group.addTask { try await keep() }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }

    /// Returns only by throwing: `SupervisorGone`, or `CancellationError` once `work` has ended.
    private func keep() async throws {
        switch mode {
        case .supervised(let parent):
            while true {
                try await Task.sleep(for: .seconds(1))
                if getppid() != parent {
                    logger.error("supervisor is gone; stopping")
                    throw SupervisorGone()
                }
            }
        case .standalone:
            while true {
                try await Task.sleep(for: Self.heartbeat(forLease: leaseSeconds))
                do {
                    _ = try await store.heartbeat(runID: runID, owner: owner, leaseSeconds: leaseSeconds)
                } catch let error where !Task.isCancelled {
                    // A database hiccup is not a lost lease; the write fence notices a lease that did lapse.
                    logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
