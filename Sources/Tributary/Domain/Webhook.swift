import Foundation

/// A tenant's webhook endpoint; its secret is shown once, when it is created.
public struct Webhook: Sendable, Equatable, Encodable {
    @WireID public var id: UUID
    public var url: String
    public var events: [WebhookEventType]
    public var status: Status
    public var createdAt: Date
    @Nullable public var disabledAt: Date?
    /// Only in the answer that created it: the one time the secret is shown.
    public var secret: String?

    public enum Status: String, Sendable, Codable {
        case enabled
        /// The receiver answered 410 Gone.
        case disabled
    }
}

/// What a webhook endpoint can subscribe to (`ping` is only ever sent by `POST …/test`).
public enum WebhookEventType: String, Sendable, Codable, CaseIterable {
    case syncSucceeded = "sync.succeeded"
    case syncFailed = "sync.failed"
    case alertRaised = "alert.raised"
    case ping

    static let subscribable: [WebhookEventType] = [.syncSucceeded, .syncFailed, .alertRaised]
}

/// One event as a webhook receives it: `{"id","type","created_at","data"}`.
struct WebhookEvent<Payload: Encodable & Sendable>: Encodable, Sendable {
    @WireID var id: UUID
    var type: WebhookEventType
    var createdAt: Date
    var data: Payload

    /// The exact bytes delivered (and signed), the same on every retry.
    func body() throws -> String {
        String(decoding: try JSONCoding.encoder.encode(self), as: UTF8.self)
    }
}
