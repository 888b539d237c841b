import Foundation
import PostgresNIO
import TributaryConnectors

extension Store {
    static let integrationSelect = """
        SELECT i.id, i.tenant_id, i.provider, i.name, i.config::text, i.streams, i.sync_frequency_minutes, i.status,
               i.next_sync_at, i.created_at, i.updated_at, c.type, c.fingerprint, c.expires_at, c.updated_at,
               (extract(epoch FROM i.created_at) * 1000000)::bigint,
               CASE WHEN lr.id IS NULL THEN NULL ELSE json_build_object(
                   'id', lr.id, 'status', lr.status, 'trigger', lr.trigger, 'attempt', lr.attempt,
                   'started_at', to_char(lr.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'finished_at', to_char(lr.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   'records_total', lr.records_total, 'streams', lr.stream_stats,
                   'error', CASE WHEN lr.error_code IS NULL THEN NULL
                                 ELSE json_build_object('code', lr.error_code, 'message', lr.error_message) END)::text END,
               i.paused_reason, i.stream_settings::text, i.stream_next_sync::text
        FROM integrations i
        LEFT JOIN credentials c ON c.integration_id = i.id
        LEFT JOIN sync_runs lr ON lr.id = i.last_run_id
        """

    /// Creates the integration unless its tenant already has `maxIntegrations` (`LimitExceeded`).
    func createIntegration(
        _ draft: IntegrationDraft,
        credential: SealedCredential?,
        maxIntegrations: Int,
        actor: ActivityActor
    ) async throws -> Integration {
        try await withTransaction { connection in
            // The tenant's row, locked, serializes its creations: two cannot both pass the count.
            try await connection.query("SELECT 1 FROM tenants WHERE id = \(draft.tenantID) FOR NO KEY UPDATE")
            let count = try await connection.rows("SELECT count(*) FROM integrations WHERE tenant_id = \(draft.tenantID)", as: Int.self)
            guard (count.first ?? 0) < maxIntegrations else {
                throw LimitExceeded(limit: "integrations_per_tenant", max: maxIntegrations)
            }
            try await connection.query(
                """
                INSERT INTO integrations (id, tenant_id, provider, name, config, streams, sync_frequency_minutes, status, next_sync_at,
                                          paused_reason, stream_settings)
                VALUES (\(draft.id), \(draft.tenantID), \(draft.provider), \(draft.name), \(try JSONColumn.text(draft.config))::jsonb,
                        \(draft.streams), \(draft.syncFrequencyMinutes), \(draft.status.rawValue),
                        \(unescaped: draft.status.nextSyncWhenCreated.sql), \(draft.status == .paused ? PausedReason.manual.rawValue : nil),
                        \(try JSONColumn.text(draft.streamSettings))::jsonb)
                """
            )
            if let credential {
                try await connection.upsertCredential(tenantID: draft.tenantID, integrationID: draft.id, credential)
            }
            if draft.status.isScheduled {
                // The first, historical sync is queued at once.
                _ = try await connection.insertRun(
                    tenantID: draft.tenantID,
                    integrationID: draft.id,
                    provider: draft.provider,
                    trigger: .initial,
                    streams: draft.streams,
                    fullResync: false,
                    maxAttempts: draft.maxAttempts
                )
            }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: draft.tenantID,
                    actor: actor,
                    action: .integrationCreated,
                    integrationID: draft.id,
                    details: [
                        "provider": .string(draft.provider), "name": .string(draft.name),
                        "streams": .array(draft.streams.map(JSONValue.string)), "status": .string(draft.status.rawValue),
                        "credential_type": credential.map { .string($0.type.rawValue) } ?? .null,
                    ]
                )
            )
            return try await connection.integration(tenantID: draft.tenantID, id: draft.id)
        }
    }

    func integration(tenantID: UUID, id: UUID) async throws -> Integration? {
        try await withConnection { connection in
            try await connection.integrationIfExists(tenantID: tenantID, id: id)
        }
    }

    /// The streams of the integration, if the tenant has it.
    func integrationStreams(tenantID: UUID, id: UUID) async throws -> [String]? {
        try await withConnection { connection in
            try await connection.rows(IntegrationStreamsStatement(tenantID: tenantID, id: id)).first
        }
    }

    func integrations(
        tenantID: UUID,
        provider: String?,
        status: IntegrationStatus?,
        after: TimeKeyset?,
        limit: Int
    ) async throws -> Page<Integration> {
        let rows = try await withConnection { connection in
            try await connection.integrationRows(
                """
                \(unescaped: Self.integrationSelect)
                WHERE i.tenant_id = \(tenantID)
                  AND (\(provider)::text IS NULL OR i.provider = \(provider))
                  AND (\(status?.rawValue)::text IS NULL OR i.status = \(status?.rawValue))
                  AND (\(after == nil) OR (i.created_at, i.id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY i.created_at DESC, i.id DESC
                LIMIT \(limit + 1)
                """
            )
        }
        return Self.page(rows.map { ($0.0, $0.1, $0.0.id) }, limit: limit)
    }

    /// Applies `patch`; nil when there is no such integration.
    func updateIntegration(tenantID: UUID, id: UUID, patch: IntegrationPatch, actor: ActivityActor) async throws -> Integration? {
        try await withTransaction { connection in
            guard let current = try await connection.lockIntegration(tenantID: tenantID, id: id)?.status else { return nil }
            // The credential changes first: a status asked for in the same request is judged after it.
            var base = current
            switch patch.credential {
            case .replace(let credential)?:
                try await connection.upsertCredential(tenantID: tenantID, integrationID: id, credential)
                base = current.afterNewAPIKey
            case .clear(let reason)?:
                try await connection.query("DELETE FROM credentials WHERE integration_id = \(id)")
                try await connection.appendActivity(
                    ActivityDraft(
                        tenantID: tenantID,
                        actor: actor,
                        action: .credentialCleared,
                        integrationID: id,
                        details: ["reason": .string(reason)]
                    )
                )
                base = current.afterCredentialCleared
            case nil:
                break
            }
            let status = try patch.status.map { requested throws(IntegrationTransitionError) in try base.requesting(requested) } ?? base
            let configText = try patch.config.map(JSONColumn.text)
            let settingsText = try patch.streamSettings.map(JSONColumn.text)
            try await connection.query(
                """
                UPDATE integrations SET
                    name = coalesce(\(patch.name), name),
                    config = coalesce(\(configText)::jsonb, config),
                    streams = coalesce(\(patch.streams)::text[], streams),
                    sync_frequency_minutes = coalesce(\(patch.syncFrequencyMinutes), sync_frequency_minutes),
                    -- The overrides given, or those kept, of the streams that remain.
                    stream_settings = (
                        SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
                        FROM jsonb_each(coalesce(\(settingsText)::jsonb, stream_settings))
                        WHERE key = ANY(coalesce(\(patch.streams)::text[], streams))
                    ),
                    updated_at = now()
                WHERE id = \(id)
                """
            )
            try await connection.setStatus(integrationID: id, status, next: current.nextSync(changingTo: status))
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .integrationUpdated,
                    integrationID: id,
                    details: ["changed": .array(patch.changedFields.map(JSONValue.string))]
                )
            )
            return try await connection.integration(tenantID: tenantID, id: id)
        }
    }

    func deleteIntegration(tenantID: UUID, id: UUID, actor: ActivityActor) async throws -> Bool {
        try await withTransaction { connection in
            // Runs first, in the order a batch takes its locks (run, then integration).
            try await connection.query("SELECT 1 FROM sync_runs WHERE integration_id = \(id) AND tenant_id = \(tenantID) FOR UPDATE")
            let deleted = try await connection.rows(
                "DELETE FROM integrations WHERE tenant_id = \(tenantID) AND id = \(id) RETURNING provider, name",
                as: String.self,
                String.self
            )
            guard let (provider, name) = deleted.first else { return false }
            // Records carry no foreign key (see migration 0003): they go here, with their integration.
            let removed = try await connection.rows(
                "WITH gone AS (DELETE FROM records WHERE integration_id = \(id) RETURNING 1) SELECT count(*) FROM gone",
                as: Int64.self
            )
            try await connection.query(
                "UPDATE tenants SET record_count = greatest(record_count - \(removed.first ?? 0), 0) WHERE id = \(tenantID)"
            )
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .integrationDeleted,
                    integrationID: id,
                    details: ["provider": .string(provider), "name": .string(name)]
                )
            )
            return true
        }
    }

    /// Replaces the credential, moves the status as `transition` says (one of the rules in
    /// `IntegrationStatus+Transitions.swift`), and records `action` in the activity log.
    func replaceCredential(
        tenantID: UUID,
        integrationID: UUID,
        credential: SealedCredential,
        transition: (IntegrationStatus) -> IntegrationStatus,
        action: ActivityAction,
        actor: ActivityActor
    ) async throws -> Integration? {
        try await withTransaction { connection in
            guard let current = try await connection.lockIntegration(tenantID: tenantID, id: integrationID)?.status else { return nil }
            let status = transition(current)
            try await connection.setStatus(integrationID: integrationID, status, next: current.nextSync(changingTo: status))
            try await connection.upsertCredential(tenantID: tenantID, integrationID: integrationID, credential)
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: action,
                    integrationID: integrationID,
                    details: ["type": .string(credential.type.rawValue), "fingerprint": .string(credential.fingerprint)]
                )
            )
            return try await connection.integration(tenantID: tenantID, id: integrationID)
        }
    }
}

extension Store {
    /// An integration by id alone, for work that starts from a credential or a run.
    func integrationByID(_ id: UUID) async throws -> Integration? {
        try await withConnection { connection in
            try await connection.integrationRows("\(unescaped: Store.integrationSelect) WHERE i.id = \(id)").first?.0
        }
    }
}

extension StoreConnection {
    typealias IntegrationRow = (Integration, Int64)

    typealias IntegrationColumns = (
        UUID, UUID, String, String, String, [String], Int, String, Date?, Date, Date, String?, String?, Date?, Date?, Int64, String?, String?,
        String, String
    )

    func integrationRows(_ query: PostgresQuery) async throws -> [IntegrationRow] {
        var result: [IntegrationRow] = []
        do {
            for try await row in try await self.query(query).decode(IntegrationColumns.self) {
                result.append(try Self.integrationRow(row))
            }
        } catch let error as PSQLError {
            throw StoreError.from(error)
        }
        return result
    }

    /// An integration from the columns of `Store.integrationSelect`, and its creation time in µs.
    static func integrationRow(_ row: IntegrationColumns) throws -> IntegrationRow {
        let credential = row.11.map { type in
            CredentialSummary(
                type: CredentialType(rawValue: type) ?? .apiKey,
                fingerprint: row.12 ?? "",
                expiresAt: row.13,
                updatedAt: row.14 ?? row.10
            )
        }
        let status = IntegrationStatus(rawValue: row.7) ?? .failing
        let streamSettings = try JSONColumn.decoded(row.18, as: [String: StreamSettings].self, empty: [:])
        let integration = Integration(
            id: row.0,
            tenantID: row.1,
            provider: row.2,
            name: row.3,
            config: try JSONColumn.object(row.4),
            streams: row.5,
            syncFrequencyMinutes: row.6,
            streamSettings: streamSettings,
            streamSchedules: StreamSchedule.of(
                streams: row.5,
                settings: streamSettings,
                frequency: row.6,
                status: status,
                nextSyncAt: row.8,
                streamNext: try JSONColumn.decoded(row.19, as: [String: Date].self, empty: [:])
            ),
            status: status,
            pausedReason: row.17.flatMap(PausedReason.init(rawValue:)),
            credential: credential,
            nextSyncAt: row.8,
            lastSync: try row.16.map { try JSONColumn.value($0) },
            createdAt: row.9,
            updatedAt: row.10
        )
        return (integration, row.15)
    }

    func integrationIfExists(tenantID: UUID, id: UUID) async throws -> Integration? {
        try await rows(IntegrationByIDStatement(tenantID: tenantID, id: id)).first?.0
    }

    func integration(tenantID: UUID, id: UUID) async throws -> Integration {
        guard let integration = try await integrationIfExists(tenantID: tenantID, id: id) else {
            throw StoreError.failed("integration vanished inside its own transaction")
        }
        return integration
    }

    func upsertCredential(tenantID: UUID, integrationID: UUID, _ credential: SealedCredential) async throws {
        try await query(
            """
            INSERT INTO credentials
                (integration_id, tenant_id, type, key_id, secret, fingerprint, expires_at, bound_origin, bound_auth, updated_at)
            VALUES (\(integrationID), \(tenantID), \(credential.type.rawValue), \(credential.sealed.keyID), \(credential.sealed.box),
                    \(credential.fingerprint), \(credential.expiresAt), \(credential.binding.origin), \(credential.binding.placement), now())
            ON CONFLICT (integration_id) DO UPDATE SET
                type = excluded.type, key_id = excluded.key_id, secret = excluded.secret,
                fingerprint = excluded.fingerprint, expires_at = excluded.expires_at,
                bound_origin = excluded.bound_origin, bound_auth = excluded.bound_auth, updated_at = now(),
                -- A credential given anew replaces one being refreshed: that refresh's tokens are not stored.
                refresh_owner = NULL, refresh_until = NULL
            """
        )
    }
}
