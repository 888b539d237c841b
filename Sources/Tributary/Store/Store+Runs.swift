import Foundation
import PostgresNIO
import TributaryConnectors

extension Store {
    static let runColumns = """
        r.id, r.tenant_id, r.integration_id, r.trigger, r.status, r.streams, r.full_resync, r.attempt, r.queued_at,
        r.started_at, r.finished_at, r.stream_stats::text, r.records_total, r.error_code, r.error_message,
        (extract(epoch FROM r.queued_at) * 1000000)::bigint
        """

    /// Queues a manual run; when one is already queued or running, returns that one's id instead.
    func enqueueRun(
        integration: Integration,
        trigger: RunTrigger,
        streams: [String],
        fullResync: Bool,
        maxAttempts: Int,
        actor: ActivityActor
    ) async throws -> Result<SyncRun, ActiveRunError> {
        try await withTransaction { connection in
            if let run = try await connection.insertRun(
                tenantID: integration.tenantID,
                integrationID: integration.id,
                provider: integration.provider,
                trigger: trigger,
                streams: streams,
                fullResync: fullResync,
                maxAttempts: maxAttempts
            ) {
                return .success(run)
            }
            let active = try await connection.rows(
                "SELECT id FROM sync_runs WHERE integration_id = \(integration.id) AND status IN ('queued', 'running')",
                as: UUID.self
            )
            return .failure(ActiveRunError(runID: active.first))
        }
    }

    func run(tenantID: UUID, integrationID: UUID, runID: UUID) async throws -> SyncRun? {
        try await withConnection { connection in
            try await connection.runs(
                """
                SELECT \(unescaped: Self.runColumns) FROM sync_runs r
                WHERE r.tenant_id = \(tenantID) AND r.integration_id = \(integrationID) AND r.id = \(runID)
                """
            ).first?.0
        }
    }

    func run(id: UUID) async throws -> SyncRun? {
        try await withConnection { connection in
            try await connection.runs("SELECT \(unescaped: Self.runColumns) FROM sync_runs r WHERE r.id = \(id)").first?.0
        }
    }

    func runs(tenantID: UUID, integrationID: UUID, after: TimeKeyset?, limit: Int) async throws -> Page<SyncRun> {
        let rows = try await withConnection { connection in
            try await connection.runs(
                """
                SELECT \(unescaped: Self.runColumns) FROM sync_runs r
                WHERE r.tenant_id = \(tenantID) AND r.integration_id = \(integrationID)
                  AND (\(after == nil) OR (r.queued_at, r.id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY r.queued_at DESC, r.id DESC
                LIMIT \(limit + 1)
                """
            )
        }
        return Self.page(rows.map { ($0.0, $0.1, $0.0.id) }, limit: limit)
    }

    /// The scheduler's tick: queues a run for every due integration, in batches of `batch`, until
    /// a batch finds fewer due than it could take. Returns how many runs it queued.
    func enqueueDue(batch: Int = 500, maxAttempts: Int) async throws -> Int {
        var queued = 0
        while true {
            let (due, inserted) = try await enqueueDueBatch(limit: batch, maxAttempts: maxAttempts)
            queued += inserted
            if due < batch { return queued }
        }
    }

    /// One batch of the tick, in one statement that any number of schedulers may run at once:
    /// how many due integrations it took (at most `limit`), and how many runs it queued for them
    /// (none for an integration whose run is already queued or running).
    /// The status list is `IntegrationStatus.scheduled`, written out because it must match the
    /// predicate of the partial index `integrations_due_idx` (migration 0003) for the index to serve.
    private func enqueueDueBatch(limit: Int, maxAttempts: Int) async throws -> (due: Int, queued: Int) {
        try await withTransaction { connection in
            let counts = try await connection.rows(
                """
                WITH due AS (
                    SELECT id FROM integrations
                    WHERE status IN ('active', 'failing') AND next_sync_at IS NOT NULL AND next_sync_at <= now()
                    ORDER BY next_sync_at
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ), cleared AS (
                    -- The streams that are due, in the integration's order (one without a time of its
                    -- own is due with its integration); all of them if none is.
                    UPDATE integrations i SET next_sync_at = NULL FROM due WHERE i.id = due.id
                    RETURNING i.id, i.tenant_id, i.provider,
                        coalesce(nullif(ARRAY(
                            SELECT s FROM unnest(i.streams) WITH ORDINALITY AS t (s, n)
                            WHERE coalesce((i.stream_next_sync ->> s)::timestamptz <= now(), true)
                            ORDER BY n
                        ), '{}'), i.streams) AS streams,
                        EXISTS (SELECT 1 FROM sync_runs s WHERE s.integration_id = i.id AND s.status = 'succeeded') AS synced
                ), queued AS (
                    INSERT INTO sync_runs (id, tenant_id, integration_id, provider, trigger, status, streams, max_attempts)
                    SELECT gen_random_uuid(), tenant_id, id, provider, CASE WHEN synced THEN 'schedule' ELSE 'initial' END,
                           'queued', streams, \(maxAttempts)
                    FROM cleared
                    ON CONFLICT (integration_id) WHERE status IN ('queued', 'running') DO NOTHING
                    RETURNING id
                )
                SELECT (SELECT count(*) FROM cleared), (SELECT count(*) FROM queued)
                """,
                as: Int.self,
                Int.self
            )
            return (counts.first?.0 ?? 0, counts.first?.1 ?? 0)
        }
    }
}

/// A run is already queued or running for the integration.
struct ActiveRunError: Error, Sendable {
    var runID: UUID?
}

extension StoreConnection {
    func insertRun(
        tenantID: UUID,
        integrationID: UUID,
        provider: String,
        trigger: RunTrigger,
        streams: [String],
        fullResync: Bool,
        maxAttempts: Int
    ) async throws -> SyncRun? {
        try await runs(
            """
            WITH inserted AS (
                INSERT INTO sync_runs (id, tenant_id, integration_id, provider, trigger, status, streams, full_resync, max_attempts)
                VALUES (\(UUID()), \(tenantID), \(integrationID), \(provider), \(trigger.rawValue), 'queued', \(streams),
                        \(fullResync), \(maxAttempts))
                ON CONFLICT (integration_id) WHERE status IN ('queued', 'running') DO NOTHING
                RETURNING *
            )
            SELECT \(unescaped: Store.runColumns) FROM inserted r
            """
        ).first?.0
    }

    func runs(_ query: PostgresQuery) async throws -> [(SyncRun, Int64)] {
        try await rows(
            query,
            as: UUID.self,
            UUID.self,
            UUID.self,
            String.self,
            String.self,
            [String].self,
            Bool.self,
            Int.self,
            Date.self,
            Date?.self,
            Date?.self,
            String.self,
            Int64.self,
            String?.self,
            String?.self,
            Int64.self
        ).map { row in
            let stats = (try? JSONCoding.decoder.decode([String: StreamStats].self, fromOutside: Data(row.11.utf8))) ?? [:]
            let error = row.13.map { RunError(code: $0, message: row.14 ?? "") }
            let run = SyncRun(
                id: row.0,
                tenantID: row.1,
                integrationID: row.2,
                trigger: RunTrigger(rawValue: row.3) ?? .manual,
                status: RunStatus(rawValue: row.4) ?? .failed,
                streamNames: row.5,
                fullResync: row.6,
                attempt: row.7,
                queuedAt: row.8,
                startedAt: row.9,
                finishedAt: row.10,
                streams: stats,
                recordsTotal: row.12,
                error: error
            )
            return (run, row.15)
        }
    }
}
