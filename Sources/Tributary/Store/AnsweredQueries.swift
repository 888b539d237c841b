import NIOCore
import PostgresNIO
import Synchronization

/// postgres-nio 1.33.2 hands each query to its channel with no promise for the write. A query sent
/// just as its connection closes (Postgres stopped or crashed after the pool lent the connection,
/// before the pool heard of the close) meets a pipeline whose handlers are gone, is dropped, and
/// its caller waits for ever: seen as API requests that never answered, run-tasks that never wrote
/// again and a server that could not stop after `pg_ctl stop -m immediate`.
///
/// So the Store sends every statement through `answered`: the query runs in a task of its own,
/// and the wait for it ends, as `StoreError.unavailable`, when the connection closes. A dropped
/// query's task is left behind (it holds a few hundred bytes and nothing else) rather than awaited.
extension PostgresConnection {
    func answered<Value: Sendable>(_ send: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let answer = FirstResult<Value>()
        let watch = ClosingWatch.shared.add(self) {
            answer.settle(.failure(StoreError.unavailable("Postgres closed the connection")))
        }
        defer { ClosingWatch.shared.remove(watch) }
        Task { [self] in
            do {
                answer.settle(.success(try await send(self)))
            } catch {
                answer.settle(.failure(error))
            }
        }
        return try await answer.value()
    }
}

/// Who waits on which connection, so that each connection's close is watched once, not once per
/// query (a callback added to `closeFuture` per query would pile up for the connection's life).
final class ClosingWatch: Sendable {
    static let shared = ClosingWatch()

    struct Token: Sendable {
        fileprivate let connection: ObjectIdentifier
        fileprivate let id: UInt64
    }

    private struct State {
        var next: UInt64 = 0
        var waiters: [ObjectIdentifier: [UInt64: @Sendable () -> Void]] = [:]
    }

    private let state = Mutex(State())

    /// Calls `closed` once if `connection` closes before `remove` is called with the token.
    func add(_ connection: PostgresConnection, closed: @escaping @Sendable () -> Void) -> Token {
        let key = ObjectIdentifier(connection)
        let (token, first) = state.withLock { state -> (Token, Bool) in
            state.next &+= 1
            let first = state.waiters[key] == nil
            state.waiters[key, default: [:]][state.next] = closed
            return (Token(connection: key, id: state.next), first)
        }
        // The first waiter of a connection watches it; a connection already closed answers at once.
        if first { connection.closeFuture.whenComplete { _ in self.closed(key) } }
        return token
    }

    func remove(_ token: Token) {
        // The connection's entry stays while it lives: its close callback is registered once.
        _ = state.withLock { $0.waiters[token.connection]?.removeValue(forKey: token.id) }
    }

    private func closed(_ key: ObjectIdentifier) {
        let waiters = state.withLock { $0.waiters.removeValue(forKey: key) } ?? [:]
        for closed in waiters.values { closed() }
    }
}
