import Foundation
import PostgresNIO
import TributaryConnectors

extension StoreConnection {
    /// Appends to the activity log; call it inside the transaction of the change it records.
    func appendActivity(_ draft: ActivityDraft) async throws {
        try await appendActivity([draft])
    }

    /// Appends entries to the activity log in one statement, in their order; call it inside the
    /// transaction of the changes they record.
    func appendActivity(_ drafts: [ActivityDraft]) async throws {
        guard !drafts.isEmpty else { return }
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 128 + 48 * drafts.count, interpolationCount: 8 * drafts.count)
        sql.appendLiteral("INSERT INTO activity (id, tenant_id, actor_type, actor_id, action, severity, integration_id, details) VALUES ")
        for (index, draft) in drafts.enumerated() {
            sql.appendLiteral(index == 0 ? "(" : ", (")
            sql.appendInterpolation(UUID())
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.tenantID)
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.actor.kind.rawValue)
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.actor.id)
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.action.rawValue)
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.severity.rawValue)
            sql.appendLiteral(", ")
            sql.appendInterpolation(draft.integrationID)
            sql.appendLiteral(", ")
            sql.appendInterpolation(try JSONColumn.text(draft.details))
            sql.appendLiteral("::jsonb)")
        }
        try await query(PostgresQuery(stringInterpolation: sql))
    }
}

extension Store {
    /// A tenant's activity, newest first, `limit` entries after `before` (a `seq`).
    func activity(tenantID: UUID, filter: ActivityFilter, before: Int64?, limit: Int) async throws -> Page<ActivityEntry> {
        // Only API keys have ids: an actor id alone means an API key, and reads the actor index.
        let actorType = filter.actorType?.rawValue ?? (filter.actorID == nil ? nil : ActivityActor.Kind.apiKey.rawValue)
        let rows = try await withConnection { connection in
            try await connection.rows(
                """
                SELECT seq, id, at, actor_type, actor_id, action, severity, integration_id, details::text
                FROM activity
                WHERE tenant_id = \(tenantID)
                  AND (\(filter.action)::text IS NULL OR action = \(filter.action))
                  AND (\(filter.integrationID)::uuid IS NULL OR integration_id = \(filter.integrationID))
                  AND (\(actorType)::text IS NULL OR actor_type = \(actorType))
                  AND (\(filter.actorID)::uuid IS NULL OR actor_id = \(filter.actorID))
                  AND \(unescaped: Self.severityCondition(filter.severity))
                  AND (\(filter.since)::timestamptz IS NULL OR at >= \(filter.since))
                  AND (\(filter.until)::timestamptz IS NULL OR at < \(filter.until))
                  AND (\(before)::bigint IS NULL OR seq < \(before))
                ORDER BY seq DESC
                LIMIT \(limit + 1)
                """,
                as: Int64.self,
                UUID.self,
                Date.self,
                String.self,
                UUID?.self,
                String.self,
                String.self,
                UUID?.self,
                String.self
            )
        }
        let entries = try rows.prefix(limit).map { seq, id, at, actorType, actorID, action, severity, integrationID, details in
            (
                seq,
                ActivityEntry(
                    id: id,
                    at: at,
                    actor: ActivityActor(kind: ActivityActor.Kind(rawValue: actorType), id: actorID),
                    action: ActivityAction(rawValue: action),
                    // The column's check admits only the four levels.
                    severity: ActivitySeverity(rawValue: severity) ?? .high,
                    integrationID: integrationID,
                    details: try JSONColumn.object(details)
                )
            )
        }
        let next = rows.count > limit ? entries.last.map { PageKey.sequence($0.0) } : nil
        return Page(items: entries.map(\.1), next: next)
    }

    /// `severity IN ('high', 'critical')`, written out rather than bound: the same words as the
    /// partial index of each level (`migrations/0013`), which Postgres uses only when it can see
    /// them in the query. The words are the enum's own, never a caller's.
    static func severityCondition(_ least: ActivitySeverity?) -> String {
        guard let least else { return "true" }
        return "severity IN (\(least.andAbove.map { "'\($0.rawValue)'" }.joined(separator: ", ")))"
    }
}
