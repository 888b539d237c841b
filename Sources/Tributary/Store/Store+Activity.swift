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
        var sql = PostgresQuery.StringInterpolation(literalCapacity: 128 + 48 * drafts.count, interpolationCount: 7 * drafts.count)
        sql.appendLiteral("INSERT INTO activity (id, tenant_id, actor_type, actor_id, action, integration_id, details) VALUES ")
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
        let rows = try await withConnection { connection in
            try await connection.rows(
                """
                SELECT seq, id, at, actor_type, actor_id, action, integration_id, details::text
                FROM activity
                WHERE tenant_id = \(tenantID)
                  AND (\(filter.action)::text IS NULL OR action = \(filter.action))
                  AND (\(filter.integrationID)::uuid IS NULL OR integration_id = \(filter.integrationID))
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
                UUID?.self,
                String.self
            )
        }
        let entries = try rows.prefix(limit).map { seq, id, at, actorType, actorID, action, integrationID, details in
            (
                seq,
                ActivityEntry(
                    id: id,
                    at: at,
                    actor: ActivityActor(kind: ActivityActor.Kind(rawValue: actorType), id: actorID),
                    action: ActivityAction(rawValue: action),
                    integrationID: integrationID,
                    details: try JSONColumn.object(details)
                )
            )
        }
        let next = rows.count > limit ? entries.last.map { PageKey.sequence($0.0) } : nil
        return Page(items: entries.map(\.1), next: next)
    }
}
