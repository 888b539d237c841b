import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// One `tributary run-task` child process, its output kept (the last few kilobytes) for the
/// run's error should it fail.
final class RunTaskProcess: Sendable {
    private let process: Process
    private let output = NIOLockedValueBox<[UInt8]>([])
    private let readerDone = NIOLockedValueBox<Bool>(false)
    static let keptOutput = 16 * 1024

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    init(binary: String, arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        self.process = process
        try process.run()
        // Drained on a thread of its own: a blocking read must not hold one of the few
        // threads of the concurrency pool, and an undrained pipe would stall the child.
        let handle = pipe.fileHandleForReading
        let thread = Thread { [output, readerDone] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                output.withLockedValue { kept in
                    kept.append(contentsOf: data)
                    if kept.count > Self.keptOutput { kept.removeFirst(kept.count - Self.keptOutput) }
                }
            }
            readerDone.withLockedValue { $0 = true }
        }
        thread.start()
    }

    /// How the process ended: its exit status, or the signal that killed it.
    enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// Waits for the exit, checking every `interval`.
    func waitForExit(polling interval: Duration = .milliseconds(100)) async -> Ending {
        while process.isRunning {
            try? await Task.sleep(for: interval)
        }
        for _ in 0..<50 where !readerDone.withLockedValue({ $0 }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationReason == .uncaughtSignal ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace`.
    func stop(grace: Duration = .seconds(5)) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var outputText: String {
        String(decoding: output.withLockedValue { $0 }, as: UTF8.self)
    }
}
