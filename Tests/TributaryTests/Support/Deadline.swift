@testable import Tributary

/// What `body` returns, unless it takes longer than `limit`: then an error naming `what`, and
/// `body` is cancelled and left behind. Unlike a task group's race, which still waits for a child
/// that ignores cancellation, this returns at the deadline whatever `body` does, so that a wait
/// that never ends fails the test that made it instead of holding the whole run.
func withDeadline<T: Sendable>(
    _ limit: Duration,
    _ what: @autoclosure () -> String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let first = FirstResult<T>()
    let work = Task {
        do { first.settle(.success(try await body())) } catch { first.settle(.failure(error)) }
    }
    let message = "\(what()) did not end within \(limit)"
    let timer = Task {
        try await Task.sleep(for: limit)
        first.settle(.failure(TestSetupError(message)))
        work.cancel()
    }
    defer { timer.cancel() }
    return try await withTaskCancellationHandler {
        try await first.value()
    } onCancel: {
        work.cancel()
    }
}
