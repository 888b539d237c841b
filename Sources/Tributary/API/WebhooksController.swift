import Foundation
import Hummingbird
import TributaryConnectors

/// `/v1/tenants/{tenant_id}/webhooks`: where a tenant's events are POSTed, signed.
struct WebhooksController {
    let store: Store
    let vault: CredentialVault
    let delivery: WebhookDelivery
    let limits: TenantLimits

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post(use: create).get(use: list).get(":webhook_id", use: show).delete(":webhook_id", use: delete)
            .post(":webhook_id/test", use: test)
    }

    static let maxURLLength = 2048

    struct CreateBody: Decodable {
        var url: String
        var events: [String]
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Webhook> {
        let tenantID = try await context.existingTenantID(in: store)
        let body = try await request.decodeJSON(as: CreateBody.self, context: context)
        var validator = Validator()
        let url = validator.webhookURL(body.url)
        let events = validator.webhookEvents(body.events)
        try validator.check()
        guard let url, let events else { throw APIError.validation(validator.errors) }
        let id = UUID()
        let secret = WebhookSecret.generate()
        var webhook = try await store.createWebhook(
            id: id,
            tenantID: tenantID,
            url: url,
            events: events,
            sealed: try vault.sealWebhookSecret(secret, tenantID: tenantID, webhookID: id),
            maxWebhooks: limits.maxWebhooks,
            actor: context.caller.actor
        )
        webhook.secret = secret
        return JSONResponse(webhook, status: .created, headers: [.location: "/v1/tenants/\(tenantID.lowercased)/webhooks/\(id.lowercased)"])
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<Webhook>> {
        let tenantID = try await context.existingTenantID(in: store)
        let query = try ListQuery(request)
        return JSONResponse(ListBody(try await store.webhooks(tenantID: tenantID, after: try query.timeKeyset(), limit: query.limit)))
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Webhook> {
        let tenantID = try context.tenantID()
        let id = try context.uuidParameter("webhook_id", "webhook")
        guard let webhook = try await store.webhook(tenantID: tenantID, id: id) else { throw APIError.notFound("no such webhook") }
        return JSONResponse(webhook)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenantID = try context.tenantID()
        let id = try context.uuidParameter("webhook_id", "webhook")
        return try .deleted(try await store.deleteWebhook(tenantID: tenantID, id: id, actor: context.caller.actor), "webhook")
    }

    /// What the receiver did with a `ping`.
    struct TestResult: Encodable, Sendable {
        var delivered: Bool
        @WireID var eventID: UUID
        @Nullable var status: Int?
        @Nullable var error: String?
        /// The start of the receiver's answer (1 KiB at most).
        var body: String
    }

    struct Ping: Encodable, Sendable {
        @WireID var webhookID: UUID
    }

    /// Sends a `ping` at once, outside the outbox (nothing is retried), and answers what the receiver said.
    @Sendable func test(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<TestResult> {
        let tenantID = try context.tenantID()
        let id = try context.uuidParameter("webhook_id", "webhook")
        guard let target = try await store.webhookTarget(id: id), target.tenantID == tenantID else {
            throw APIError.notFound("no such webhook")
        }
        let secret = try vault.openWebhookSecret(target)
        let event = WebhookEvent(id: UUID(), type: .ping, createdAt: Date(), data: Ping(webhookID: id))
        let outcome = await delivery.deliver(url: target.url, secret: secret, eventID: event.id, body: Array(try event.body().utf8))
        let result =
            switch outcome {
            case .delivered(let status, let body): TestResult(delivered: true, eventID: event.id, status: status, error: nil, body: body)
            case .gone(let status, let body):
                TestResult(delivered: false, eventID: event.id, status: status, error: "the receiver answered \(status) Gone", body: body)
            case .failed(let status, let message, let body):
                TestResult(delivered: false, eventID: event.id, status: status, error: message, body: body)
            }
        return JSONResponse(result)
    }
}

extension Validator {
    /// An absolute http or https URL with a host, at most 2048 characters. Where it points is
    /// checked on every delivery, by the egress policy.
    mutating func webhookURL(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= WebhooksController.maxURLLength else {
            fail("url", "must be at most \(WebhooksController.maxURLLength) bytes")
            return nil
        }
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            fail("url", "must be an absolute http or https URL")
            return nil
        }
        // Foundation reads any number of digits as the port; outside 1–65535 NIO would trap on it.
        if let port = url.port, !EgressClient.ports.contains(port) {
            fail("url", "must name a port from 1 to 65535")
            return nil
        }
        if url.user != nil || url.password != nil {
            fail("url", "must not carry credentials: verify deliveries by their signature instead")
            return nil
        }
        return trimmed
    }

    /// One or more of the subscribable events, duplicates removed.
    mutating func webhookEvents(_ names: [String]) -> [WebhookEventType]? {
        var events: [WebhookEventType] = []
        for (index, name) in names.enumerated() {
            guard let event = WebhookEventType(rawValue: name), WebhookEventType.subscribable.contains(event) else {
                fail("events[\(index)]", "must be one of: \(WebhookEventType.subscribable.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            if !events.contains(event) { events.append(event) }
        }
        if events.isEmpty {
            fail("events", "must name at least one event")
            return nil
        }
        return events
    }
}
