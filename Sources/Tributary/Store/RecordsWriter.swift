import Foundation
import Logging
import PostgresNIO
import TributaryConnectors

/// Writes a run's batches on one connection it keeps for the whole run. Each batch is one
/// set-based upsert of two bound arrays (ids, texts); the stream's checkpoint and the
/// run's counts are written in the same transaction, so a crash at any instant loses nothing
/// and doubles nothing.
struct RecordsWriter: Sendable {
    let connection: StoreConnection
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
            let batch = Self.lastVersions(records)
            if !batch.ids.isEmpty {
                let size = Int64(batch.ids.count)
                // The batch travels as two bound arrays (binary text[]), each text cast to jsonb once,
                // and numbered by its position: no staging table, no second pass over the rows.
                upserted =
                    try await connection.query(
                        """
                        WITH base AS (
                            UPDATE integrations SET record_seq = record_seq + \(size)
                            WHERE id = \(run.integrationID)
                            RETURNING record_seq - \(size) AS start
                        ), written AS (
                            INSERT INTO records AS r
                            (integration_id, tenant_id, stream, record_id, data, deleted, seq, first_seen_at, last_modified_at)
                            SELECT \(run.integrationID), \(run.tenantID), \(stream), b.record_id, b.data::jsonb, false,
                                   base.start + b.ord, now(), now()
                            FROM unnest(\(batch.ids)::text[], \(batch.texts)::text[]) WITH ORDINALITY AS b(record_id, data, ord), base
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
                        """
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
                "DELETE FROM sync_state WHERE integration_id = \(run.integrationID) AND stream = \(stream)"
            )
            try await count(connection, stream: stream, read: 0, upserted: 0, deleted: 0, status: .running)
        }
    }

    /// Whether the integration holds any record of `stream` that is not deleted.
    func hasLiveRecords(stream: String) async throws -> Bool {
        do {
            return try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM records WHERE integration_id = \(run.integrationID) AND stream = \(stream) AND NOT deleted)"
            ).decode(Bool.self).first { _ in true } ?? true
        } catch {
            throw StoreError.unwrapping(error)
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
                        """
                    ).decode(Int64.self).first { _ in true } ?? 0
            }
            try await count(connection, stream: stream, read: 0, upserted: 0, deleted: deleted, status: .succeeded)
            return deleted
        }
    }

    private func transaction<T: Sendable>(_ body: (StoreConnection) async throws -> T) async throws -> T {
        do {
            return try await connection.transaction(body)
        } catch {
            throw StoreError.unwrapping(error)
        }
    }

    /// Refuses to write if the lease moved on, and holds the run row (FOR KEY SHARE) until the
    /// batch commits: taking the run away (`failRun`, FOR UPDATE) waits for the batch, while the
    /// supervisor's heartbeats (which change no key) go on meanwhile.
    private func fence(_ connection: StoreConnection) async throws {
        let owned = try await connection.query(
            "SELECT 1 FROM sync_runs WHERE id = \(run.id) AND lease_owner = \(owner) AND status = 'running' FOR KEY SHARE"
        ).decode(Int.self).first { _ in true }
        guard owned != nil else { throw LeaseLost() }
    }

    private func saveCheckpoint(_ connection: StoreConnection, stream: String, checkpoint: JSONValue?) async throws {
        guard let checkpoint else { return }
        try await connection.query(
            """
            INSERT INTO sync_state (integration_id, tenant_id, stream, cursor, updated_at)
            VALUES (\(run.integrationID), \(run.tenantID), \(stream), \(try JSONColumn.text(checkpoint))::jsonb, now())
            ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = now()
            """
        )
    }

    private func count(
        _ connection: StoreConnection,
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
            """
        )
    }

    /// The batch as the statement binds it: each id once, with its last version (ON CONFLICT may
    /// touch a row only once), in the order read. A NUL cannot go into text: an id carrying one
    /// keeps U+FFFD instead (before the ids are compared, so two that then agree are one record).
    static func lastVersions(_ records: [SourceRecord]) -> (ids: [String], texts: [String]) {
        var ids: [String] = []
        var texts: [String] = []
        ids.reserveCapacity(records.count)
        texts.reserveCapacity(records.count)
        var position: [String: Int] = [:]
        position.reserveCapacity(records.count)
        for record in records {
            let id = record.id.utf8.contains(0) ? record.id.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : record.id
            if let earlier = position[id] {
                texts[earlier] = record.json
            } else {
                position[id] = ids.count
                ids.append(id)
                texts.append(record.json)
            }
        }
        return (ids, texts)
    }
}
