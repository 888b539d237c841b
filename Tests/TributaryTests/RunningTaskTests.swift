import Synchronization
import Testing

@testable import Tributary

/// What the Postgres client's lifetime rests on (`PostgresLifetime`): a process stops within a bound
/// even when postgres-nio's pool never finishes its own shutdown.
@Suite("A running task's stop is bounded")
struct RunningTaskTests {
    @Test("work that ends when cancelled is waited for, and said to have ended")
    func cooperative() async {
        let ended = Ended()
        let running = RunningTask {
            try? await Task.sleep(for: .seconds(3600))
            ended.set()
        }
        #expect(await running.stop(within: .seconds(60)))
        #expect(ended.isSet)
    }

    @Test("work that never ends, cancelled or not, is no longer waited for past the limit")
    func deaf() async {
        let running = RunningTask {
            // Deaf to cancellation, like the pool that never finished: a task group would wait forever.
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        }
        let start = ContinuousClock.now
        #expect(await running.stop(within: .milliseconds(300)) == false)
        #expect(ContinuousClock.now - start >= .milliseconds(300))
    }

    private final class Ended: Sendable {
        private let flag = Atomic<Bool>(false)
        var isSet: Bool { flag.load(ordering: .relaxed) }
        func set() { flag.store(true, ordering: .relaxed) }
    }
}
