import Dispatch
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Tells, when a test run stalls, which kind of wake-up stopped coming.
///
/// Full runs have been seen to stop making progress with every thread idle. Three heartbeats, one
/// a second, on three different clocks (a `Task.sleep`, a Dispatch timer, a NIO scheduled task),
/// and a job handed to the concurrency pool each check, are watched from a plain thread; once one
/// has been silent for `stall`, the thread writes which to standard error, and again when it comes
/// back. Each check also writes what `TestPhases` finds held too long. A run that never stalls
/// prints nothing.
enum TimerProbe {
    /// Starts the probe once per test process (any test touching `TestDatabase.create` does).
    static let running: Void = start()

    private static let stall: Double = 20
    private static let beats = Beats()

    private final class Beats: Sendable {
        let sleep = Atomic<Int>(0)
        let dispatch = Atomic<Int>(0)
        let nio = Atomic<Int>(0)
        let pool = Atomic<Int>(0)
    }

    private static func start() {
        let beats = beats
        Task.detached {
            while true {
                try? await Task.sleep(for: .seconds(1))
                beats.sleep.add(1, ordering: .relaxed)
            }
        }
        dispatchTick()
        _ = MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            beats.nio.add(1, ordering: .relaxed)
        }
        let watcher = Thread { watch(beats) }
        watcher.name = "timer-probe"
        watcher.start()
    }

    @Sendable private static func dispatchTick() {
        beats.dispatch.add(1, ordering: .relaxed)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1, execute: dispatchTick)
    }

    private static func watch(_ beats: Beats) {
        let names = ["Task.sleep", "a Dispatch timer", "a NIO scheduled task", "a job on the concurrency pool"]
        var last = [Int](repeating: -1, count: names.count)
        var since = [Date](repeating: Date(), count: names.count)
        var reported = [Bool](repeating: false, count: names.count)
        while true {
            Task.detached { beats.pool.add(1, ordering: .relaxed) }
            Thread.sleep(forTimeInterval: 2)
            let now = Date()
            let counts = [
                beats.sleep.load(ordering: .relaxed), beats.dispatch.load(ordering: .relaxed),
                beats.nio.load(ordering: .relaxed), beats.pool.load(ordering: .relaxed),
            ]
            for line in TestPhases.reportStuck() { say(line) }
            for index in names.indices {
                if counts[index] != last[index] {
                    if reported[index] { say("timer probe: \(names[index]) fires again") }
                    last[index] = counts[index]
                    since[index] = now
                    reported[index] = false
                } else if !reported[index], now.timeIntervalSince(since[index]) >= stall {
                    say("timer probe: \(names[index]) has not fired for \(Int(stall)) s")
                    reported[index] = true
                }
            }
        }
    }

    private static func say(_ line: String) {
        FileHandle.standardError.write(Data("\(line) (\(Date()))\n".utf8))
    }
}
