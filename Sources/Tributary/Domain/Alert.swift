import Foundation
import TributaryConnectors

/// One raised alert, with how its email fared.
public struct Alert: Sendable, Equatable, Encodable {
    @WireID public var id: UUID
    public var kind: AlertKind
    @WireID public var integrationID: UUID?
    @Nullable public var stream: String?
    @Nullable public var observed: Int64?
    @Nullable public var baseline: Double?
    @Nullable public var threshold: Double?
    @WireID public var runID: UUID?
    /// What Tributary did about it (`paused`) and what it knew (`error` of a failure streak).
    public var details: [String: JSONValue]
    public var createdAt: Date
    public var delivery: Delivery

    /// The alert email's state: `none` when the tenant has no `alert_emails`.
    public struct Delivery: Sendable, Equatable, Encodable {
        public var email: EmailState
        public var attempts: Int
        @Nullable public var sentAt: Date?
        @Nullable public var lastError: String?
    }

    public enum EmailState: String, Sendable, Codable {
        case pending, sent, failed, none
    }
}

/// Which alerts a list shows.
struct AlertFilter: Sendable {
    var kind: AlertKind?
    var integrationID: UUID?
    var since: Date?
}
