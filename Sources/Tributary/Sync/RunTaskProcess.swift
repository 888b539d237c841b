import Foundation
import Logging
import Subprocess
import Synchronization
import SystemPackage

/// One `tributary` child process (a run-task, a check), for the length of `run`: standard input from
/// /dev/null; of standard output, where the child reports its outcome, and of standard error, where
/// it logs, the last few kilobytes are kept apart. Only the report is ever read back for a tenant to
/// see; the log tail is for the parent's own log.
enum RunTaskProcess {
    static let keptOutput = 16 * 1024

    /// How the child ended, what it reported and logged last, and why `watch` stopped it (nil: it
    /// ended by itself).
    struct Finished<Stop: Sendable>: Sendable {
        var ending: TerminationStatus
        /// The tail of standard output.
        var report: String
        /// The tail of standard error.
        var log: String
        var stop: Stop?
    }

    /// Starts the child and runs `watch` beside it. If the child ends first, `watch` is cancelled and
    /// what it returns is dropped; if `watch` returns first, the child is stopped: SIGTERM, then SIGKILL
    /// if it is still there after `grace`. Throws when the child cannot start or its output cannot be read.
    static func run<Stop: Sendable>(
        binary: String,
        arguments: [String],
        environment: [String: String],
        grace: Duration = .seconds(5),
        logger: Logger,
        watch: @escaping @Sendable (_ pid: Int32) async -> Stop
    ) async throws -> Finished<Stop> {
        let stopping: [TeardownStep] = [.gracefulShutDown(allowedDurationToNextStep: grace)]
        var options = PlatformOptions()
        options.teardownSequence = stopping  // also when the supervisor itself is cancelled
        var childEnvironment: [Environment.Key: String] = [:]
        for (key, value) in environment { childEnvironment[Environment.Key(stringLiteral: key)] = value }

        // What the outputs and `watch` gave, kept outside the run too, for when the exit goes unreported.
        let seen = Mutex(Ended<Stop>())
        // A long grace: the child is reaped only once `watch` has returned, which finishes a token refresh
        // the child asked for first (up to a lease of another process's and a lease of its own, 90 s); on a
        // loaded machine the last of its output may still be on the way too. Only an exit that truly went
        // unreported costs a slot this long.
        return try await ChildExit.guarded(grace: .seconds(150)) { [options, childEnvironment] started in
            let result = try await Subprocess.run(
                .path(FilePath(binary)),
                arguments: Arguments(arguments),
                environment: .custom(childEnvironment),
                platformOptions: options,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                started(execution.processIdentifier.value)
                return try await withThrowingTaskGroup(of: Event<Stop>.self) { group in
                    group.addTask { .report(try await tail(of: execution.standardOutput)) }
                    group.addTask { .log(try await tail(of: execution.standardError)) }
                    group.addTask { .stopped(await watch(execution.processIdentifier.value)) }
                    while let event = try await group.next() {
                        let ended = seen.withLock { ended in
                            switch event {
                            case .report(let text): ended.report = text
                            case .log(let text): ended.log = text
                            case .stopped(let reason): ended.stop = reason
                            }
                            return ended
                        }
                        if case .stopped = event { await execution.teardown(using: stopping) }
                        // Both outputs end when the child exits (or closes them): `watch` is no longer needed.
                        if ended.report != nil && ended.log != nil {
                            group.cancelAll()
                            return ended
                        }
                    }
                    return seen.withLock { $0 }  // not reached: the outputs always end
                }
            }
            let ended = result.closureResult
            return Finished(ending: result.terminationStatus, report: ended.report ?? "", log: ended.log ?? "", stop: ended.stop)
        } lost: { pid, status in
            logger.error(
                "swift-subprocess did not report the child's exit; its status is taken from the kernel",
                metadata: ["pid": "\(pid)", "ending": "\(status.map { "\($0)" } ?? "reaped, unknown")"]
            )
            let ended = seen.withLock { $0 }
            // Reaped without a word: the status is gone; a kill is the honest guess for a child that did not report.
            return Finished(ending: status ?? .signaled(SIGKILL), report: ended.report ?? "", log: ended.log ?? "", stop: ended.stop)
        }
    }

    private enum Event<Stop: Sendable>: Sendable {
        case report(String)
        case log(String)
        case stopped(Stop)
    }

    private struct Ended<Stop: Sendable>: Sendable {
        var report: String?
        var log: String?
        var stop: Stop?
    }

    /// The last `keptOutput` bytes of an output, read until the child closes it or exits.
    private static func tail(of output: SubprocessOutputSequence) async throws -> String {
        var kept: [UInt8] = []
        for try await buffer in output {
            buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
            if kept.count > keptOutput { kept.removeFirst(kept.count - keptOutput) }
        }
        return String(decoding: kept, as: UTF8.self)
    }
}
