import Foundation
import TributaryConnectors

/// One line of a tenant's activity log.
public struct ActivityEntry: Sendable, Codable, Equatable {
    @WireID public var id: UUID
    public var at: Date
    public var actor: ActivityActor
    public var action: ActivityAction
    public var severity: ActivitySeverity
    @WireID public var integrationID: UUID?
    public var details: [String: JSONValue]
}

/// An entry about to be written, in the same transaction as the change it records.
struct ActivityDraft: Sendable {
    var tenantID: UUID
    var actor: ActivityActor
    var action: ActivityAction
    var severity: ActivitySeverity
    var integrationID: UUID?
    var details: [String: JSONValue]

    /// `severity` defaults to the action's (`ActivityAction.defaultSeverity`).
    init(
        tenantID: UUID,
        actor: ActivityActor,
        action: ActivityAction,
        severity: ActivitySeverity? = nil,
        integrationID: UUID? = nil,
        details: [String: JSONValue] = [:]
    ) {
        self.tenantID = tenantID
        self.actor = actor
        self.action = action
        self.severity = severity ?? action.defaultSeverity
        self.integrationID = integrationID
        self.details = details
    }
}

/// What the activity log may be filtered by.
struct ActivityFilter: Sendable {
    var action: String?
    /// This level and above.
    var severity: ActivitySeverity?
    var actorType: ActivityActor.Kind?
    var actorID: UUID?
    var integrationID: UUID?
    var since: Date?
    var until: Date?
}
