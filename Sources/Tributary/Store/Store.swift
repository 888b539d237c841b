import Logging
import PostgresNIO

/// All Postgres access goes through here. Reads borrow a pooled connection; writes that must
/// stand or fall together run in one transaction.
public struct Store: Sendable {
    public let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Runs `body` on one pooled connection.
    func read<Result: Sendable>(_ body: (StoreConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                try await body(StoreConnection(connection: connection, logger: logger))
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
    }

    /// Runs `body` in a transaction: everything it writes is committed together, or nothing is.
    func write<Result: Sendable>(_ body: (StoreConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(StoreConnection(connection: connection, logger: logger))
            }
        } catch let error as PostgresTransactionError {
            // The caller wants the error that stopped the work, not the wrapper.
            if let closureError = error.closureError { throw closureError }
            if let beginError = error.beginError as? PSQLError { throw StoreError.from(beginError) }
            if let beginError = error.beginError { throw beginError }
            if let commitError = error.commitError as? PSQLError { throw StoreError.from(commitError) }
            throw error
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
    }
}

/// A connection lent to the Store's queries, inside or outside a transaction.
struct StoreConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    @discardableResult
    func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        do {
            return try await connection.query(query, logger: logger, file: file, line: line)
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
    }

    /// Rows that fit in memory (a page, a handful of ids), decoded as `T`.
    func rows<each T: PostgresDecodable & Sendable>(
        _ query: PostgresQuery, as types: repeat (each T).Type, file: String = #fileID, line: Int = #line
    ) async throws -> [(repeat each T)] {
        var result: [(repeat each T)] = []
        for try await row in try await self.query(query, file: file, line: line).decode((repeat each T).self) {
            result.append(row)
        }
        return result
    }
}
