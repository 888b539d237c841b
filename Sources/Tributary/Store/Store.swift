import Logging
import PostgresNIO

/// All Postgres access goes through here, and only here: the client is the Store's own.
/// Queries borrow a pooled connection; writes that must stand or fall together run in one
/// transaction. Whatever Postgres answers leaves the Store as a `StoreError`.
public struct Store: Sendable {
    /// How long any Store work waits for a pooled connection before it fails as `unavailable`:
    /// an API request answers 503 within it while the database is away.
    static let connectionWait: Duration = .seconds(3)

    private let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `body` on one pooled connection, outside a transaction (each statement commits alone).
    func withConnection<Result: Sendable>(_ body: (StoreConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection(waitingAtMost: Self.connectionWait) { connection in
                try await body(StoreConnection(connection: connection, logger: logger))
            }
        } catch {
            throw StoreError.unwrapping(error)
        }
    }

    /// Runs `body` in a transaction: everything it writes is committed together, or nothing is.
    func withTransaction<Result: Sendable>(_ body: (StoreConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection(waitingAtMost: Self.connectionWait) { connection in
                try await StoreConnection(connection: connection, logger: logger).transaction(body)
            }
        } catch {
            throw StoreError.unwrapping(error)
        }
    }

    /// Lends one connection for a whole run to a `RecordsWriter`, the run-task's batch writer.
    func withRecordsWriter<Result: Sendable>(
        run: ClaimedRun,
        owner: String,
        _ body: (RecordsWriter) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withConnection(waitingAtMost: Self.connectionWait) { connection in
                try await body(RecordsWriter(connection: StoreConnection(connection: connection, logger: logger), run: run, owner: owner))
            }
        } catch {
            throw StoreError.unwrapping(error)
        }
    }
}

/// A connection lent to the Store's queries, inside or outside a transaction. Each statement
/// goes out through `answered`, so none waits on a connection that closed.
struct StoreConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        do {
            return try await connection.answered { [logger] connection in
                try await connection.query(query, logger: logger, file: file, line: line)
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws (its error
    /// is what the caller sees, whatever the rollback met).
    func transaction<Result: Sendable>(_ body: (StoreConnection) async throws -> Result) async throws -> Result {
        try await query("BEGIN")
        let result: Result
        do {
            result = try await body(self)
        } catch {
            _ = try? await query("ROLLBACK")
            throw error
        }
        try await query("COMMIT")
        return result
    }

    /// Rows that fit in memory (a page, a handful of ids), decoded as `T`.
    func rows<each T: PostgresDecodable & Sendable>(
        _ query: PostgresQuery,
        as types: repeat (each T).Type,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> [(repeat each T)] {
        var result: [(repeat each T)] = []
        do {
            for try await row in try await self.query(query, file: file, line: line).decode((repeat each T).self) {
                result.append(row)
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
        return result
    }
}
