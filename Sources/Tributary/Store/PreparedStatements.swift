import Foundation
import PostgresNIO

// The statements every API request runs, prepared once per pooled connection: Postgres parses
// and plans them once instead of on every request, which was most of its time under load
// (`bench/api-load`). Everything else stays a plain bound query.

/// A key's row by its public prefix: every request with a tenant key.
struct KeyByPrefixStatement: PostgresPreparedStatement {
    static let sql = "SELECT id, tenant_id, key_hash, revoked_at IS NOT NULL, last_used_at FROM api_keys WHERE prefix = $1"
    typealias Row = StoredKey

    var prefix: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(prefix)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> StoredKey {
        let (id, tenantID, keyHash, isRevoked, lastUsedAt) = try row.decode((UUID, UUID, Data, Bool, Date?).self)
        return StoredKey(id: id, tenantID: tenantID, keyHash: keyHash, isRevoked: isRevoked, lastUsedAt: lastUsedAt)
    }
}

/// One integration of a tenant, as the API shows it: every request below `…/integrations/{id}`.
struct IntegrationByIDStatement: PostgresPreparedStatement {
    static let sql = "\(Store.integrationSelect) WHERE i.tenant_id = $1 AND i.id = $2"
    typealias Row = StoreConnection.IntegrationRow

    var tenantID: UUID
    var id: UUID

    func makeBindings() -> PostgresBindings {
        .tenantAndID(tenantID, id)
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try StoreConnection.integrationRow(row.decode(StoreConnection.IntegrationColumns.self))
    }
}

/// The streams of a tenant's integration: what a records page needs of it.
struct IntegrationStreamsStatement: PostgresPreparedStatement {
    static let sql = "SELECT streams FROM integrations WHERE tenant_id = $1 AND id = $2"
    typealias Row = [String]

    var tenantID: UUID
    var id: UUID

    func makeBindings() -> PostgresBindings {
        .tenantAndID(tenantID, id)
    }

    func decodeRow(_ row: PostgresRow) throws -> [String] {
        try row.decode([String].self)
    }
}

/// A records page of every stream, or of one: two statements, so that each gets the plan of its
/// own index (`records_seq_idx`, `records_stream_seq_idx`) when Postgres plans it once for all.
/// The page's rows are chosen first, then their JSON turned to text: whatever plan Postgres picks
/// (a bitmap scan and a sort, where its statistics are stale), only the page's rows are converted.
protocol RecordsPageStatement: PostgresPreparedStatement where Row == StoredRecord {}

extension RecordsPageStatement {
    static func pageSQL(streamFilter: String) -> String {
        """
        SELECT seq, stream, record_id, data::text, deleted, first_seen_at, last_modified_at FROM (
            SELECT seq, stream, record_id, data, deleted, first_seen_at, last_modified_at FROM records
            WHERE integration_id = $1 AND seq > $2 AND ($3::timestamptz IS NULL OR last_modified_at > $3) \(streamFilter)
            ORDER BY seq
            LIMIT $4
        ) page
        ORDER BY seq
        """
    }

    func decodeRow(_ row: PostgresRow) throws -> StoredRecord {
        let (seq, stream, id, data, deleted, firstSeenAt, lastModifiedAt) = try row.decode(
            (Int64, String, String, String, Bool, Date, Date).self
        )
        return StoredRecord(
            seq: seq,
            stream: stream,
            id: id,
            data: data,
            deleted: deleted,
            firstSeenAt: firstSeenAt,
            lastModifiedAt: lastModifiedAt
        )
    }
}

struct AllStreamsPageStatement: RecordsPageStatement {
    typealias Row = StoredRecord
    static let sql = pageSQL(streamFilter: "")

    var integrationID: UUID
    var afterSeq: Int64
    var modifiedAfter: Date?
    var limit: Int

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(integrationID)
        bindings.append(afterSeq)
        bindings.append(modifiedAfter)
        bindings.append(limit)
        return bindings
    }
}

struct OneStreamPageStatement: RecordsPageStatement {
    typealias Row = StoredRecord
    static let sql = pageSQL(streamFilter: "AND stream = $5")

    var page: AllStreamsPageStatement
    var stream: String

    func makeBindings() -> PostgresBindings {
        var bindings = page.makeBindings()
        bindings.append(stream)
        return bindings
    }
}

extension PostgresBindings {
    /// `$1` a tenant, `$2` the id of one of its rows.
    static func tenantAndID(_ tenantID: UUID, _ id: UUID) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(tenantID)
        bindings.append(id)
        return bindings
    }
}

extension StoreConnection {
    /// The rows of a prepared statement, prepared on this connection the first time it runs here.
    func rows<Statement: PostgresPreparedStatement>(
        _ statement: Statement,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> [Statement.Row] {
        var result: [Statement.Row] = []
        do {
            for try await row in try await execute(statement, file: file, line: line) {
                result.append(row)
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
        return result
    }

    /// The rows of a prepared statement handed to `visit` as they arrive, until it answers false.
    func forEachRow<Statement: PostgresPreparedStatement>(
        _ statement: Statement,
        _ visit: (Statement.Row) throws -> Bool,
        file: String = #fileID,
        line: Int = #line
    ) async throws {
        do {
            for try await row in try await execute(statement, file: file, line: line) {
                guard try visit(row) else { break }
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
    }

    /// Sends `statement` through `answered` (its sending is what may hang) and hands back its rows
    /// to be read here, as Postgres sends them: a page is never gathered before it is visited.
    private func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement,
        file: String,
        line: Int
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row> {
        try await connection.answered { [logger] connection in
            HandedOver(try await connection.execute(statement, logger: logger, file: file, line: line))
        }.value
    }
}

/// A value one task makes and hands to another, which alone uses it from then on. postgres-nio's
/// rows of a prepared statement are not `Sendable` only because their decoding closure is not
/// marked so: the closure decodes with the statement (itself `Sendable`) and nothing else.
private struct HandedOver<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
