import Foundation
import Subprocess
import Synchronization
import SystemPackage
import Testing

@testable import Tributary

@Suite("A child's exit is seen even when swift-subprocess does not report it")
struct ChildExitTests {
    /// A child started through swift-subprocess whose run does not return for `hold` after the child
    /// ends: what a lost exit report looks like from outside.
    private static func exitUnreported(
        _ script: String,
        hold: Duration
    ) -> @Sendable (_ started: @escaping @Sendable (Int32) -> Void) async throws -> String {
        { started in
            try await Subprocess.run(.path("/bin/sh"), arguments: ["-c", script], input: .none, output: .discarded, error: .discarded) {
                execution in
                started(execution.processIdentifier.value)
                try? await Task.sleep(for: hold)
                return "reported"
            }.closureResult
        }
    }

    @Test(
        "a child that ended (by exit or by a signal) while its run never returns: the kernel's status, after the grace",
        arguments: [("exit 3", TerminationStatus.exited(3)), ("kill -9 $$", .signaled(SIGKILL))]
    )
    func endedUnreported(script: String, ending: TerminationStatus) async throws {
        let answer = try await ChildExit.guarded(grace: .milliseconds(300), Self.exitUnreported(script, hold: .seconds(20))) { _, status in
            "lost: \(status.map { "\($0)" } ?? "none")"
        }
        #expect(answer == "lost: \(ending)")
    }

    @Test("a child still running is not given up on, however far past the grace")
    func runningKept() async throws {
        let started = ContinuousClock.now
        // Either answer may come once the child has exited (a loaded machine may keep swift-subprocess
        // from reaping it within the grace); none may come while it runs.
        _ = try await ChildExit.guarded(grace: .milliseconds(200), Self.exitUnreported("sleep 3", hold: .zero)) { _, _ in "lost" }
        #expect(ContinuousClock.now - started >= .seconds(3))
    }

    @Test("a run that returns: its own answer")
    func reported() async throws {
        let answer = try await ChildExit.guarded(grace: .seconds(60), Self.exitUnreported("exit 0", hold: .zero)) { _, _ in "lost" }
        #expect(answer == "reported")
    }

    @Test("a run that throws: the error reaches the caller")
    func thrown() async throws {
        await #expect(throws: SubprocessError.self) {
            try await ChildExit.guarded(
                { _ in try await Subprocess.run(.path("/nonexistent/tributary"), output: .discarded).terminationStatus },
                lost: { _, status in status ?? .exited(-1) }
            )
        }
    }

    @Test("peek: running, then ended with its status, then reaped")
    func peek() async throws {
        let pid = Atomic32()
        // The child ends only once told to (a file appears): a loaded machine may start this body late.
        let signal = FileManager.default.temporaryDirectory.appendingPathComponent("peek-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: signal) }
        let stage = try await Subprocess.run(
            .path("/bin/sh"),
            arguments: ["-c", "while [ ! -e \"$1\" ]; do sleep 0.05; done; exit 7", "sh", signal],
            input: .none,
            output: .discarded,
            error: .discarded
        ) {
            execution in
            pid.set(execution.processIdentifier.value)
            let running = ChildExit.peek(execution.processIdentifier.value)
            FileManager.default.createFile(atPath: signal, contents: Data())
            // The run reaps the child only once this body returns: until then it is a zombie.
            var ended: ChildExit = .running
            for _ in 0..<1000 where ended == .running {
                try? await Task.sleep(for: .milliseconds(10))
                ended = ChildExit.peek(execution.processIdentifier.value)
            }
            return [running, ended]
        }.closureResult
        #expect(stage == [.running, .ended(.exited(7))])
        #expect(ChildExit.peek(pid.value) == .reaped)
    }
}

private final class Atomic32: Sendable {
    private let stored = Mutex<Int32>(0)
    var value: Int32 { stored.withLock { $0 } }
    func set(_ value: Int32) { stored.withLock { $0 = value } }
}
