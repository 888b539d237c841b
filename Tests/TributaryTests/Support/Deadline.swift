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
    let timer = first.settle(.failure(TestSetupError("\(what()) did not end within \(limit)")), after: limit)
    // At the deadline the body is cancelled and left behind; once it has answered, this is a no-op.
    defer {
        timer.cancel()
        work.cancel()
    }
    return try await withTaskCancellationHandler {
        try await first.value()
    } onCancel: {
        work.cancel()
    }
}
