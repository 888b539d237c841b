import Foundation
import PostgresNIO
import TributaryConnectors

/// One delivery the sender claimed; `attempt` numbers this claim, and only it may record the outcome.
struct OutboxItem: Sendable {
    var id: UUID
    var tenantID: UUID
    var channel: OutboxChannel
    var attempt: Int
    var giveUpAt: Date
    var alertID: UUID?
    var recipients: [String]
    var webhookID: UUID?
    var eventID: UUID?
    var eventType: String?
    var body: String?
}

/// A webhook endpoint as the sender needs it: where, and the sealed secret to sign with.
struct WebhookTarget: Sendable {
    var id: UUID
    var tenantID: UUID
    var url: String
    var enabled: Bool
    var sealed: SealedSecret
}

/// How a claimed delivery ended.
enum DeliveryResult: Sendable, Equatable {
    case delivered(status: Int?)
    /// Try again after `delay`, unless that passes the row's give-up time.
    case retry(after: Duration, error: String, status: Int?)
    /// No use trying again.
    case failed(error: String, status: Int?)
    /// The receiver answered 410: the endpoint is disabled and its pending deliveries dropped.
    case gone(status: Int)
}

extension Store {
    /// Claims up to `limit` due deliveries of `channels`, each for `lease`: if this sender dies,
    /// they are due again once the lease has passed. `SKIP LOCKED` keeps senders off each other's rows.
    func claimDeliveries(channels: [OutboxChannel], limit: Int, lease: Duration) async throws -> [OutboxItem] {
        try await withConnection { connection in
            try await connection.rows(
                """
                UPDATE outbox o SET attempts = o.attempts + 1,
                    next_attempt_at = now() + interval '1 second' * \(lease.components.seconds)
                WHERE o.id IN (
                    SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= now() AND channel = ANY(\(channels.map(\.rawValue)))
                    ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                )
                RETURNING o.id, o.tenant_id, o.channel, o.attempts, o.give_up_at, o.alert_id, o.recipients, o.webhook_id, o.event_id,
                    o.event_type, o.body
                """,
                as: UUID.self,
                UUID.self,
                String.self,
                Int.self,
                Date.self,
                UUID?.self,
                [String].self,
                UUID?.self,
                UUID?.self,
                String?.self,
                String?.self
            ).map { row in
                OutboxItem(
                    id: row.0,
                    tenantID: row.1,
                    channel: OutboxChannel(rawValue: row.2) ?? .webhook,
                    attempt: row.3,
                    giveUpAt: row.4,
                    alertID: row.5,
                    recipients: row.6,
                    webhookID: row.7,
                    eventID: row.8,
                    eventType: row.9,
                    body: row.10
                )
            }
        }
    }

    func webhookTarget(id: UUID) async throws -> WebhookTarget? {
        try await withConnection { connection in
            try await connection.rows(
                "SELECT id, tenant_id, url, status, key_id, secret FROM webhooks WHERE id = \(id)",
                as: UUID.self,
                UUID.self,
                String.self,
                String.self,
                String.self,
                Data.self
            ).first.map {
                WebhookTarget(id: $0.0, tenantID: $0.1, url: $0.2, enabled: $0.3 == "enabled", sealed: SealedSecret(keyID: $0.4, box: $0.5))
            }
        }
    }

    /// Records how a claimed delivery ended, with its activity entry, if the claim is still the
    /// row's latest; false when another claim took it over meanwhile.
    @discardableResult
    func recordDelivery(_ item: OutboxItem, _ result: DeliveryResult) async throws -> Bool {
        try await withTransaction { connection in
            let owned = try await connection.rows(
                "SELECT 1 FROM outbox WHERE id = \(item.id) AND attempts = \(item.attempt) AND status = 'pending' FOR UPDATE",
                as: Int.self
            )
            guard !owned.isEmpty else { return false }
            switch result {
            case .delivered(let status):
                try await connection.query(
                    """
                    UPDATE outbox SET status = 'delivered', delivered_at = now(), last_status = \(status), last_error = NULL
                    WHERE id = \(item.id)
                    """
                )
                if item.channel == .email { try await connection.logDelivery(item, action: .alertDelivered, error: nil) }
            case .retry(let delay, let error, let status):
                let millis = delay.wholeMilliseconds
                let retried = try await connection.rows(
                    """
                    UPDATE outbox SET next_attempt_at = now() + interval '1 millisecond' * \(millis),
                        last_error = \(error), last_status = \(status)
                    WHERE id = \(item.id) AND now() + interval '1 millisecond' * \(millis) < give_up_at
                    RETURNING 1
                    """,
                    as: Int.self
                )
                if retried.isEmpty { try await connection.giveUp(item, error: error, status: status) }
            case .failed(let error, let status):
                try await connection.giveUp(item, error: error, status: status)
            case .gone(let status):
                try await connection.disableWebhook(item, status: status)
            }
            return true
        }
    }
}

extension StoreConnection {
    fileprivate func giveUp(_ item: OutboxItem, error: String, status: Int?) async throws {
        try await query(
            "UPDATE outbox SET status = 'failed', last_error = \(error), last_status = \(status) WHERE id = \(item.id)"
        )
        try await logDelivery(item, action: item.channel == .email ? .alertEmailFailed : .webhookFailed, error: error)
    }

    /// A 410 from the receiver: the endpoint is disabled and nothing more is sent to it.
    fileprivate func disableWebhook(_ item: OutboxItem, status: Int) async throws {
        let error = "the receiver answered \(status): the endpoint is disabled"
        try await query(
            """
            UPDATE outbox SET status = 'failed', last_status = CASE WHEN id = \(item.id) THEN \(status) ELSE last_status END,
                last_error = \(error)
            WHERE webhook_id = \(item.webhookID) AND status = 'pending'
            """
        )
        let disabled = try await rows(
            """
            UPDATE webhooks SET status = 'disabled', disabled_at = now()
            WHERE id = \(item.webhookID) AND status = 'enabled' RETURNING url
            """,
            as: String.self
        )
        guard let url = disabled.first, let webhookID = item.webhookID else { return }
        try await appendActivity(
            ActivityDraft(
                tenantID: item.tenantID,
                actor: .system,
                action: .webhookDisabled,
                integrationID: nil,
                details: ["webhook_id": .string(webhookID.lowercased), "url": .string(url), "status": .number(Double(status))]
            )
        )
    }

    fileprivate func logDelivery(_ item: OutboxItem, action: ActivityAction, error: String?) async throws {
        var details: [String: JSONValue] = ["attempts": .number(Double(item.attempt))]
        details["error"] = error.map(JSONValue.string)
        var integrationID: UUID?
        if let alertID = item.alertID {
            details["alert_id"] = .string(alertID.lowercased)
            details["recipients"] = .number(Double(item.recipients.count))
            integrationID = try await rows("SELECT integration_id FROM alerts WHERE id = \(alertID)", as: UUID?.self).first ?? nil
        }
        if let webhookID = item.webhookID {
            details["webhook_id"] = .string(webhookID.lowercased)
            details["event_id"] = item.eventID.map { .string($0.lowercased) }
            details["event_type"] = item.eventType.map(JSONValue.string)
        }
        try await appendActivity(
            ActivityDraft(tenantID: item.tenantID, actor: .system, action: action, integrationID: integrationID, details: details)
        )
    }
}
