import Synchronization

/// The first of several racing results, handed to one waiter: what `ChildExit.guarded`, the
/// Store's wait for a connection and the tests' deadlines wait on, so that the loser of the race,
/// however long it takes, is not awaited.
final class FirstResult<Value: Sendable>: Sendable {
    private struct State {
        var result: Result<Value, any Error>?
        var waiter: CheckedContinuation<Value, any Error>?
    }

    private let state = Mutex(State())

    init() {}

    var isSettled: Bool { state.withLock { $0.result != nil } }

    /// Keeps the first result only, and hands it to the waiter if one is there. True: `result` was the first.
    @discardableResult
    func settle(_ result: Result<Value, any Error>) -> Bool {
        let (first, waiter) = state.withLock { state -> (Bool, CheckedContinuation<Value, any Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(with: result)
        return first
    }

    /// Settles with `result` once `limit` has passed, unless something settled first: a deadline.
    /// Cancel the task it returns when the wait is over.
    func settle(_ result: Result<Value, any Error>, after limit: Duration) -> Task<Void, Never> {
        Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            settle(result)
        }
    }

    /// Waits for the first result (one waiter only).
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
