/// Work running in a task of its own, whose stop is bounded: once cancelled it is waited for a
/// given time at most, and then left to end on its own, or never.
struct RunningTask: Sendable {
    private let task: Task<Void, Never>
    private let finished: FirstResult<Bool>

    init(_ work: @escaping @Sendable () async -> Void) {
        let finished = FirstResult<Bool>()
        self.finished = finished
        self.task = Task {
            await work()
            finished.settle(.success(true))
        }
    }

    /// Cancels the work and waits for it, `limit` at most: whether it ended. Call it once.
    func stop(within limit: Duration) async -> Bool {
        task.cancel()
        let timer = finished.settle(.success(false), after: limit)
        defer { timer.cancel() }
        return (try? await finished.value()) ?? false
    }
}
