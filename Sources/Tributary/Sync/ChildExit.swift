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
        let outcome = FirstResult<Value>()
        let child = StartedChild()
        let running = Task {
            do {
                outcome.settle(.success(try await work { pid in child.started(pid) }))
            } catch {
                outcome.settle(.failure(error))
            }
        }
        let watch = Task {
            var endedSince: ContinuousClock.Instant?
            while !outcome.isSettled {
                if let pid = child.pid, case let seen = peek(pid), seen != .running {
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

/// The pid a run reported once its child started.
private final class StartedChild: Sendable {
    private let value = Mutex<Int32?>(nil)

    var pid: Int32? { value.withLock { $0 } }

    func started(_ pid: Int32) { value.withLock { $0 = pid } }
}
