import Foundation
import PostgresNIO
import TributaryConnectors

extension Store {
    static let webhookColumns = "id, url, events, status, created_at, disabled_at, (extract(epoch FROM created_at) * 1000000)::bigint"

    /// Creates a webhook endpoint unless the tenant already has `maxWebhooks` (`LimitExceeded`).
    func createWebhook(
        id: UUID,
        tenantID: UUID,
        url: String,
        events: [WebhookEventType],
        sealed: SealedSecret,
        maxWebhooks: Int,
        actor: ActivityActor
    ) async throws -> Webhook {
        try await withTransaction { connection in
            // The tenant row's lock makes the count and the insert one step for concurrent creates.
            _ = try await connection.rows("SELECT 1 FROM tenants WHERE id = \(tenantID) FOR UPDATE", as: Int.self)
            let count = try await connection.rows("SELECT count(*)::int FROM webhooks WHERE tenant_id = \(tenantID)", as: Int.self).first ?? 0
            guard count < maxWebhooks else { throw LimitExceeded(limit: "webhooks_per_tenant", max: maxWebhooks) }
            let created = try await connection.webhooks(
                """
                INSERT INTO webhooks (id, tenant_id, url, events, key_id, secret)
                VALUES (\(id), \(tenantID), \(url), \(events.map(\.rawValue)), \(sealed.keyID), \(sealed.box))
                RETURNING \(unescaped: Self.webhookColumns)
                """
            )
            guard let webhook = created.first?.0 else { throw StoreError.failed("the webhook insert returned no row") }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .webhookCreated,
                    integrationID: nil,
                    details: ["webhook_id": .string(id.lowercased), "url": .string(url), "events": .array(events.map { .string($0.rawValue) })]
                )
            )
            return webhook
        }
    }

    func webhooks(tenantID: UUID, after: TimeKeyset?, limit: Int) async throws -> Page<Webhook> {
        let rows = try await withConnection { connection in
            try await connection.webhooks(
                """
                SELECT \(unescaped: Self.webhookColumns) FROM webhooks
                WHERE tenant_id = \(tenantID)
                  AND (\(after == nil) OR (created_at, id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit + 1)
                """
            )
        }
        return Self.page(rows.map { ($0.0, $0.1, $0.0.id) }, limit: limit)
    }

    func webhook(tenantID: UUID, id: UUID) async throws -> Webhook? {
        try await withConnection { connection in
            try await connection.webhooks(
                "SELECT \(unescaped: Self.webhookColumns) FROM webhooks WHERE tenant_id = \(tenantID) AND id = \(id)"
            ).first?.0
        }
    }

    /// Deletes the endpoint and its pending deliveries; false when there was none.
    func deleteWebhook(tenantID: UUID, id: UUID, actor: ActivityActor) async throws -> Bool {
        try await withTransaction { connection in
            let deleted = try await connection.rows(
                "DELETE FROM webhooks WHERE tenant_id = \(tenantID) AND id = \(id) RETURNING url",
                as: String.self
            )
            guard let url = deleted.first else { return false }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .webhookDeleted,
                    integrationID: nil,
                    details: ["webhook_id": .string(id.lowercased), "url": .string(url)]
                )
            )
            return true
        }
    }
}

extension StoreConnection {
    func webhooks(_ query: PostgresQuery) async throws -> [(Webhook, Int64)] {
        try await rows(query, as: UUID.self, String.self, [String].self, String.self, Date.self, Date?.self, Int64.self).map { row in
            let webhook = Webhook(
                id: row.0,
                url: row.1,
                events: row.2.compactMap(WebhookEventType.init(rawValue:)),
                status: Webhook.Status(rawValue: row.3) ?? .disabled,
                createdAt: row.4,
                disabledAt: row.5,
                secret: nil
            )
            return (webhook, row.6)
        }
    }
}
