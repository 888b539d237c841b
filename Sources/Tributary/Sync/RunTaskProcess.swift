import Subprocess
import SystemPackage

/// One `tributary run-task` child process, for the length of `run`: standard input from /dev/null,
/// standard output and error in one stream whose last few kilobytes are kept for the run's error.
enum RunTaskProcess {
    static let keptOutput = 16 * 1024

    /// How the child ended, what it printed last, and why `watch` stopped it (nil: it ended by itself).
    struct Finished<Stop: Sendable>: Sendable {
        var ending: TerminationStatus
        var output: String
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
        watch: @escaping @Sendable (_ pid: Int32) async -> Stop
    ) async throws -> Finished<Stop> {
        let stopping: [TeardownStep] = [.gracefulShutDown(allowedDurationToNextStep: grace)]
        var options = PlatformOptions()
        options.teardownSequence = stopping  // also when the supervisor itself is cancelled
        var childEnvironment: [Environment.Key: String] = [:]
        for (key, value) in environment { childEnvironment[Environment.Key(stringLiteral: key)] = value }

        let result = try await Subprocess.run(
            .path(FilePath(binary)),
            arguments: Arguments(arguments),
            environment: .custom(childEnvironment),
            platformOptions: options,
            input: .none,
            output: .sequence,
            error: .combinedWithOutput
        ) { execution in
            try await withThrowingTaskGroup(of: Event<Stop>.self) { group in
                group.addTask { .ended(output: try await tail(of: execution.standardOutput)) }
                group.addTask { .stopped(await watch(execution.processIdentifier.value)) }
                var stop: Stop?
                while let event = try await group.next() {
                    switch event {
                    case .ended(let output):
                        group.cancelAll()
                        return (stop, output)
                    case .stopped(let reason):
                        stop = reason
                        await execution.teardown(using: stopping)
                    }
                }
                return (stop, "")  // not reached: the output always ends
            }
        }
        return Finished(ending: result.terminationStatus, output: result.closureResult.1, stop: result.closureResult.0)
    }

    private enum Event<Stop: Sendable>: Sendable {
        case ended(output: String)
        case stopped(Stop)
    }

    /// The last `keptOutput` bytes of the output, read until the child closes it or exits.
    private static func tail(of output: SubprocessOutputSequence) async throws -> String {
        var kept: [UInt8] = []
        for try await buffer in output {
            buffer.withUnsafeBytes { kept.append(contentsOf: $0) }
            if kept.count > keptOutput { kept.removeFirst(kept.count - keptOutput) }
        }
        return String(decoding: kept, as: UTF8.self)
    }
}
