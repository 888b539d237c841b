import Foundation
import Logging
import NIOCore
import PostgresNIO
import TributaryConnectors

/// Writes a run's batches on one connection it keeps for the whole run. Each batch goes in by
/// COPY into a session temp table, then one set-based upsert; the stream's checkpoint and the
/// run's counts are written in the same transaction, so a crash at any instant loses nothing
/// and doubles nothing.
struct RecordsWriter: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    let run: ClaimedRun
    let owner: String

    struct Written: Sendable, Equatable {
        var upserted: Int64
        var deleted: Int64
    }

    /// The run's lease is no longer ours: another worker has the run now; stop without writing.
    struct LeaseLost: Error {}

    /// The batch would take the tenant past its stored-records limit; it was not written.
    struct TenantRecordLimit: Error {
        var max: Int
    }

    func prepare() async throws {
        try await connection.query(
            """
            CREATE TEMP TABLE IF NOT EXISTS staging_records (ord integer NOT NULL, record_id text NOT NULL, data jsonb NOT NULL)
            ON COMMIT DELETE ROWS
            """,
            logger: logger
        )
    }

    /// Stores `records` of `stream` and its checkpoint, and counts them into the run, with
    /// `skipped` records the run read but did not store (over the size limit); refuses the batch
    /// (`TenantRecordLimit`) if it would take the tenant past `maxTenantRecords` stored records.
    func write(
        stream: String,
        records: [SourceRecord],
        skipped: Int64 = 0,
        checkpoint: JSONValue?,
        maxTenantRecords: Int = .max
    ) async throws -> Written {
        try await transaction { connection in
            try await fence(connection)
            var upserted: Int64 = 0
            if !records.isEmpty {
                try await connection.copyFrom(table: "staging_records", columns: ["ord", "record_id", "data"], logger: logger) { writer in
                    try await writer.write(Self.copyText(records))
                }
                // A batch that repeats an id keeps its last version (ON CONFLICT may touch a row only once).
                let unique = Set(records.lazy.map(\.id)).count == records.count
                let batch: PostgresQuery =
                    unique
                    ? "SELECT record_id, data FROM staging_records"
                    : "SELECT DISTINCT ON (record_id) record_id, data FROM staging_records ORDER BY record_id, ord DESC"
                upserted =
                    try await connection.query(
                        """
                        WITH batch AS (\(unescaped: batch.sql)), base AS (
                            UPDATE integrations SET record_seq = record_seq + (SELECT count(*) FROM batch)
                            WHERE id = \(run.integrationID)
                            RETURNING record_seq - (SELECT count(*) FROM batch) AS start
                        ), written AS (
                            INSERT INTO records AS r
                            (integration_id, tenant_id, stream, record_id, data, deleted, seq, first_seen_at, last_modified_at)
                            SELECT \(run.integrationID), \(run.tenantID), \(stream), b.record_id, b.data, false,
                                   base.start + row_number() OVER (), now(), now()
                            FROM batch b, base
                            ON CONFLICT (integration_id, stream, record_id) DO UPDATE
                                SET data = excluded.data, deleted = false, seq = excluded.seq, last_modified_at = excluded.last_modified_at
                                WHERE r.data IS DISTINCT FROM excluded.data OR r.deleted
                            RETURNING (r.xmax = 0) AS inserted
                        ), counted AS (
                            SELECT count(*) AS upserted, count(*) FILTER (WHERE inserted) AS inserted FROM written
                        ), tenant AS (
                            UPDATE tenants SET record_count = record_count + counted.inserted
                            FROM counted WHERE id = \(run.tenantID) AND counted.inserted > 0
                            RETURNING record_count
                        )
                        SELECT counted.upserted, (SELECT record_count FROM tenant) FROM counted
                        """,
                        logger: logger
                    ).decode((Int64, Int64?).self).first { _ in true }.map { written, total in
                        // Past the limit, the whole batch rolls back with the transaction.
                        if let total, total > maxTenantRecords { throw TenantRecordLimit(max: maxTenantRecords) }
                        return written
                    } ?? 0
            }
            try await saveCheckpoint(connection, stream: stream, checkpoint: checkpoint)
            try await count(
                connection,
                stream: stream,
                read: Int64(records.count) + skipped,
                upserted: upserted,
                deleted: 0,
                skipped: skipped,
                status: .running
            )
            return Written(upserted: upserted, deleted: 0)
        }
    }

    /// A full resync's first start of `stream`: forgets its checkpoint and enters the stream in the
    /// run's counts, together, so that a later attempt of the run sees it began and resumes from
    /// what this run stored, not from the checkpoint from before the resync.
    func startResync(stream: String) async throws {
        try await transaction { connection in
            try await fence(connection)
            try await connection.query(
                "DELETE FROM sync_state WHERE integration_id = \(run.integrationID) AND stream = \(stream)",
                logger: logger
            )
            try await count(connection, stream: stream, read: 0, upserted: 0, deleted: 0, status: .running)
        }
    }

    /// Ends a stream; a full-refresh stream also marks every record it did not see as deleted.
    func finish(stream: String, fullRefreshSeen seen: Set<String>?) async throws -> Int64 {
        try await transaction { connection in
            try await fence(connection)
            var deleted: Int64 = 0
            if let seen {
                deleted =
                    try await connection.query(
                        """
                        WITH gone AS (
                            SELECT record_id FROM records
                            WHERE integration_id = \(run.integrationID) AND stream = \(stream) AND NOT deleted
                              AND NOT (record_id = ANY(\(Array(seen))))
                        ), base AS (
                            UPDATE integrations SET record_seq = record_seq + (SELECT count(*) FROM gone)
                            WHERE id = \(run.integrationID)
                            RETURNING record_seq - (SELECT count(*) FROM gone) AS start
                        ), marked AS (
                            UPDATE records r SET deleted = true, last_modified_at = now(), seq = numbered.seq
                            FROM (SELECT g.record_id, base.start + row_number() OVER () AS seq FROM gone g, base) numbered
                            WHERE r.integration_id = \(run.integrationID) AND r.stream = \(stream) AND r.record_id = numbered.record_id
                            RETURNING 1
                        )
                        SELECT count(*) FROM marked
                        """,
                        logger: logger
                    ).decode(Int64.self).first { _ in true } ?? 0
            }
            try await count(connection, stream: stream, read: 0, upserted: 0, deleted: deleted, status: .succeeded)
            return deleted
        }
    }

    private func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw StoreError.unwrapping(error)
        }
    }

    /// Refuses to write if the lease moved on, and holds the run row (FOR KEY SHARE) until the
    /// batch commits: taking the run away (`failRun`, FOR UPDATE) waits for the batch, while the
    /// supervisor's heartbeats (which change no key) go on meanwhile.
    private func fence(_ connection: PostgresConnection) async throws {
        let owned = try await connection.query(
            "SELECT 1 FROM sync_runs WHERE id = \(run.id) AND lease_owner = \(owner) AND status = 'running' FOR KEY SHARE",
            logger: logger
        ).decode(Int.self).first { _ in true }
        guard owned != nil else { throw LeaseLost() }
    }

    private func saveCheckpoint(_ connection: PostgresConnection, stream: String, checkpoint: JSONValue?) async throws {
        guard let checkpoint else { return }
        try await connection.query(
            """
            INSERT INTO sync_state (integration_id, tenant_id, stream, cursor, updated_at)
            VALUES (\(run.integrationID), \(run.tenantID), \(stream), \(try JSONColumn.text(checkpoint))::jsonb, now())
            ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()
            """,
            logger: logger
        )
    }

    private func count(
        _ connection: PostgresConnection,
        stream: String,
        read: Int64,
        upserted: Int64,
        deleted: Int64,
        skipped: Int64 = 0,
        status: StreamStatus
    ) async throws {
        try await connection.query(
            """
            UPDATE sync_runs SET
                stream_stats = stream_stats || jsonb_build_object(\(stream)::text, jsonb_build_object(
                    'records_read', coalesce((stream_stats -> \(stream) ->> 'records_read')::bigint, 0) + \(read),
                    'records_upserted', coalesce((stream_stats -> \(stream) ->> 'records_upserted')::bigint, 0) + \(upserted),
                    'records_deleted', coalesce((stream_stats -> \(stream) ->> 'records_deleted')::bigint, 0) + \(deleted),
                    'records_skipped', coalesce((stream_stats -> \(stream) ->> 'records_skipped')::bigint, 0) + \(skipped),
                    'status', \(status.rawValue)::text)),
                records_total = records_total + \(read)
            WHERE id = \(run.id)
            """,
            logger: logger
        )
    }

    /// COPY text format: tab-separated, with backslash, tab, newline and carriage return escaped.
    static func copyText(_ records: [SourceRecord]) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: records.reduce(0) { $0 + $1.json.utf8.count + $1.id.utf8.count + 16 })
        for (index, record) in records.enumerated() {
            buffer.writeString(String(index))
            buffer.writeInteger(UInt8(ascii: "\t"))
            // A NUL cannot go through COPY (nor into text): an id carrying one keeps U+FFFD instead.
            writeEscaped(record.id.contains("\u{0}") ? record.id.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : record.id, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\t"))
            writeEscaped(record.json, into: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        return buffer
    }

    private static func writeEscaped(_ text: String, into buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for (index, byte) in bytes.enumerated() {
                let escape: UInt8? =
                    switch byte {
                    case UInt8(ascii: "\\"): UInt8(ascii: "\\")
                    case UInt8(ascii: "\t"): UInt8(ascii: "t")
                    case UInt8(ascii: "\n"): UInt8(ascii: "n")
                    case UInt8(ascii: "\r"): UInt8(ascii: "r")
                    default: nil
                    }
                if let escape {
                    buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<index]))
                    buffer.writeInteger(UInt8(ascii: "\\"))
                    buffer.writeInteger(escape)
                    start = index + 1
                }
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<bytes.count]))
        }
    }
}
