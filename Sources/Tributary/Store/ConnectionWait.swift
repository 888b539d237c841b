import PostgresNIO

extension PostgresClient {
    /// Runs `body` on a pooled connection, having waited for one at most `limit`.
    ///
    /// While Postgres refuses connections (stopped, restarting, out of slots) the pool keeps a
    /// request waiting for a minute before its circuit breaker fails it. A caller, an API request
    /// above all, must hear at once that the database is away: past `limit` the wait ends with
    /// `StoreError.unavailable`, and so does any failure of the pool to lend a connection. The limit
    /// bounds the wait only, never `body`.
    func withConnection<Result: Sendable>(
        waitingAtMost limit: Duration,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let lent = FirstResult<PostgresConnection>()
        let returned = FirstResult<Void>()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // The lease is held by a child task until `body` is done with its connection, so that
            // the wait for it can be given up without touching `body`.
            group.addTask {
                do {
                    try await self.withConnection { connection in
                        if lent.settle(.success(connection)) { _ = try? await returned.value() }
                    }
                } catch {
                    lent.settle(.failure(StoreError.unavailable("Postgres lent no connection: \(error)")))
                }
            }
            let deadline = lent.settle(.failure(StoreError.unavailable("Postgres lent no connection within \(limit)")), after: limit)
            let connection: PostgresConnection
            do {
                connection = try await withTaskCancellationHandler {
                    try await lent.value()
                } onCancel: {
                    lent.settle(.failure(CancellationError()))
                }
                deadline.cancel()
            } catch {
                deadline.cancel()
                group.cancelAll()
                throw error
            }
            defer { returned.settle(.success(())) }
            return try await body(connection)
        }
    }
}
