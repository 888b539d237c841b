/// What a long-running process does once before it serves or claims runs: apply pending migrations
/// and check that the key ring opens every stored secret. In `serve --worker` both the HTTP server and
/// the worker wait for it; the first to ask does the work, in its own task, and the others share its
/// result, so the process migrates once.
actor Startup {
    private enum State {
        case pending
        case running(waiters: [CheckedContinuation<Void, any Error>])
        case finished(Result<Void, any Error>)
    }

    private let work: @Sendable () async throws -> Void
    private var state = State.pending

    init(_ work: @escaping @Sendable () async throws -> Void) {
        self.work = work
    }

    /// Returns once the work has succeeded; throws what stopped it.
    func ready() async throws {
        switch state {
        case .finished(let result):
            try result.get()
        case .running(let waiters):
            try await withCheckedThrowingContinuation { waiter in
                state = .running(waiters: waiters + [waiter])
            }
        case .pending:
            state = .running(waiters: [])
            let result: Result<Void, any Error>
            do {
                try await work()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            if case .running(let waiters) = state {
                for waiter in waiters { waiter.resume(with: result) }
            }
            state = .finished(result)
            try result.get()
        }
    }
}
