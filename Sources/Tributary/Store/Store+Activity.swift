import Foundation
import PostgresNIO
import TributaryConnectors

extension StoreConnection {
    /// Appends to the activity log; call it inside the transaction of the change it records.
    func appendActivity(_ draft: ActivityDraft) async throws {
        let details = try JSONColumn.text(draft.details)
        try await query(
            """
            INSERT INTO activity (id, tenant_id, actor_type, actor_id, action, integration_id, details)
            VALUES (\(UUID()), \(draft.tenantID), \(draft.actor.kind.rawValue), \(draft.actor.id), \(draft.action.rawValue),
                    \(draft.integrationID), \(details)::jsonb)
            """
        )
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
