import Foundation
import PostgresNIO
import TributaryConnectors

/// A stored record as the records API shows it; `data` is the provider's JSON text, verbatim.
struct StoredRecord: Sendable {
    var seq: Int64
    var stream: String
    var id: String
    var data: String
    var deleted: Bool
    var firstSeenAt: Date
    var lastModifiedAt: Date
}

/// A stream's checkpoint.
struct StreamState: Sendable {
    var stream: String
    var cursor: JSONValue?
    var updatedAt: Date
}

extension Store {
    /// Records changed after `afterSeq`, oldest change first, at most `limit`, handed to `visit`
    /// one by one as Postgres sends them (a page is never held as rows); `visit` answers false to
    /// stop reading. `?stream=` is served by `records_stream_seq_idx`, the rest by `records_seq_idx`.
    func forEachRecord(
        integrationID: UUID,
        stream: String?,
        afterSeq: Int64,
        modifiedAfter: Date?,
        limit: Int,
        _ visit: (StoredRecord) throws -> Bool
    ) async throws {
        let page = AllStreamsPageStatement(integrationID: integrationID, afterSeq: afterSeq, modifiedAfter: modifiedAfter, limit: limit)
        try await withConnection { connection in
            if let stream {
                try await connection.forEachRow(OneStreamPageStatement(page: page, stream: stream), visit)
            } else {
                try await connection.forEachRow(page, visit)
            }
        }
    }

    /// Every stream's stored checkpoint of the integration.
    func cursors(integrationID: UUID) async throws -> [String: JSONValue] {
        try await withConnection { connection in
            var result: [String: JSONValue] = [:]
            for (stream, cursor) in try await connection.rows(
                "SELECT stream, cursor::text FROM sync_state WHERE integration_id = \(integrationID) AND cursor IS NOT NULL",
                as: String.self,
                String.self
            ) {
                result[stream] = try JSONColumn.value(cursor)
            }
            return result
        }
    }

    func states(integrationID: UUID) async throws -> [StreamState] {
        try await withConnection { connection in
            try await connection.rows(
                "SELECT stream, cursor::text, updated_at FROM sync_state WHERE integration_id = \(integrationID) ORDER BY stream",
                as: String.self,
                String?.self,
                Date.self
            ).map { row in
                StreamState(
                    stream: row.0,
                    cursor: try row.1.map { try JSONColumn.value($0) },
                    updatedAt: row.2
                )
            }
        }
    }

    /// Forgets checkpoints (of one stream, or all): the next run reads history again. Refused,
    /// as a new position is, while a run is queued or running: it would write its checkpoint back.
    func resetState(tenantID: UUID, integrationID: UUID, stream: String?, actor: ActivityActor) async throws -> Result<Void, ActiveRunError> {
        try await withTransaction { connection in
            if let run = try await connection.lockForStateChange(tenantID: tenantID, integrationID: integrationID) {
                return .failure(ActiveRunError(runID: run))
            }
            try await connection.query(
                "DELETE FROM sync_state WHERE integration_id = \(integrationID) AND (\(stream)::text IS NULL OR stream = \(stream))"
            )
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .stateReset,
                    integrationID: integrationID,
                    details: ["stream": stream.map(JSONValue.string) ?? .null]
                )
            )
            return .success(())
        }
    }

    /// Sets one stream's checkpoint (`cursor`, as its connector reads it): the next run resumes
    /// there. Refused with the active run's id while a run is queued or running, whose own
    /// checkpoint would overwrite it; checked under the integration's lock, in the transaction
    /// of the change and its activity entry.
    func setStreamPosition(
        tenantID: UUID,
        integrationID: UUID,
        stream: String,
        cursor: JSONValue,
        actor: ActivityActor
    ) async throws -> Result<StreamState, ActiveRunError> {
        try await withTransaction { connection in
            if let run = try await connection.lockForStateChange(tenantID: tenantID, integrationID: integrationID) {
                return .failure(ActiveRunError(runID: run))
            }
            let old = try await connection.rows(
                "SELECT cursor::text FROM sync_state WHERE integration_id = \(integrationID) AND stream = \(stream)",
                as: String?.self
            ).first.flatMap { $0 }
            let updatedAt = try await connection.rows(
                """
                INSERT INTO sync_state (integration_id, tenant_id, stream, cursor, updated_at)
                VALUES (\(integrationID), \(tenantID), \(stream), \(try JSONColumn.text(cursor))::jsonb, now())
                ON CONFLICT (integration_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                RETURNING updated_at
                """,
                as: Date.self
            )
            guard let updatedAt = updatedAt.first else { throw StoreError.failed("INSERT … RETURNING returned no row") }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .stateChanged,
                    integrationID: integrationID,
                    details: ["stream": .string(stream), "old_cursor": try old.map(JSONColumn.value) ?? .null, "new_cursor": cursor]
                )
            )
            return .success(StreamState(stream: stream, cursor: cursor, updatedAt: updatedAt))
        }
    }
}

extension StoreConnection {
    /// Locks the integration's row for a change of its checkpoints and answers its queued or
    /// running run, if any (that run would write its own checkpoint over the change). While the
    /// row is locked no scheduler tick queues a run for it.
    func lockForStateChange(tenantID: UUID, integrationID: UUID) async throws -> UUID? {
        guard try await lockIntegration(tenantID: tenantID, id: integrationID) != nil else {
            throw StoreError.failed("integration vanished while its state was changed")
        }
        return try await rows(
            "SELECT id FROM sync_runs WHERE integration_id = \(integrationID) AND status IN ('queued', 'running') LIMIT 1",
            as: UUID.self
        ).first
    }
}
