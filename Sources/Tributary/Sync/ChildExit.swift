import Foundation
import Subprocess
import Synchronization

/// A watch of our own over a child process's exit, beside swift-subprocess's.
///
/// Under load, swift-subprocess 1.0.2 has been seen never to report a child's exit (twice, in full
/// test runs on two cores), and whatever awaited that child waited forever: a worker slot in
/// production, the whole suite in CI. `guarded` bounds that wait by asking the kernel itself.
public enum ChildExit: Equatable, Sendable {
    case running
    /// Ended and not yet reaped; the status is the kernel's.
    case ended(TerminationStatus)
    /// Reaped already (or not a child of this process).
    case reaped

    /// What the kernel holds for child `pid`, asked with WNOWAIT, so that swift-subprocess, which
    /// reaps the child, still can.
    public static func peek(_ pid: Int32) -> ChildExit {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 {
            guard errno == EINTR else { return .reaped }
        }
        let child = info._sifields._sigchld
        guard child.si_pid == pid else { return .running }
        return .ended(info.si_code == CLD_EXITED ? .exited(child.si_status) : .signaled(child.si_status))
    }

    /// What `work` returns. `work` starts one child through swift-subprocess and hands its pid to
    /// `started` once it runs. Should the kernel show that child ended (or reaped) for `grace` while
    /// `work` still has not returned, the answer is `lost` of the kernel's status (nil once reaped)
    /// instead, and `work` is cancelled and left to end on its own, or never. Cancelling the caller
    /// cancels `work`.
    public static func guarded<Value: Sendable>(
        grace: Duration = .seconds(10),
        _ work: @escaping @Sendable (_ started: @escaping @Sendable (Int32) -> Void) async throws -> Value,
        lost: @escaping @Sendable (_ pid: Int32, _ status: TerminationStatus?) -> Value
    ) async throws -> Value {
        let outcome = Outcome<Value>()
        let running = Task {
            do {
                outcome.settle(.success(try await work { pid in outcome.started(pid) }))
            } catch {
                outcome.settle(.failure(error))
            }
        }
        let watch = Task {
            var endedSince: ContinuousClock.Instant?
            while !outcome.isSettled {
                if let pid = outcome.pid, case let seen = peek(pid), seen != .running {
                    let since = endedSince ?? .now
                    endedSince = since
                    if since.duration(to: .now) > grace {
                        if case .ended(let status) = seen {
                            outcome.settle(.success(lost(pid, status)))
                        } else {
                            outcome.settle(.success(lost(pid, nil)))
                        }
                        running.cancel()
                    }
                } else {
                    endedSince = nil
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { watch.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            running.cancel()
        }
    }
}

/// The first of the run's own answer and the watch's, for one waiter.
private final class Outcome<Value: Sendable>: Sendable {
    private struct State {
        var pid: Int32?
        var result: Result<Value, any Error>?
        var waiter: CheckedContinuation<Value, any Error>?
    }

    private let state = Mutex(State())

    var pid: Int32? { state.withLock { $0.pid } }
    var isSettled: Bool { state.withLock { $0.result != nil } }

    func started(_ pid: Int32) { state.withLock { $0.pid = pid } }

    /// Keeps the first result only, and hands it to the waiter if one is there.
    func settle(_ result: Result<Value, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let settled = state.withLock { state -> Result<Value, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let settled { continuation.resume(with: settled) }
        }
    }
}
