import Foundation
import TributaryConnectors

/// One line of a tenant's activity log.
public struct ActivityEntry: Sendable, Codable, Equatable {
    @WireID public var id: UUID
    public var at: Date
    public var actor: ActivityActor
    public var action: ActivityAction
    @WireID public var integrationID: UUID?
    public var details: [String: JSONValue]
}

/// An entry about to be written, in the same transaction as the change it records.
struct ActivityDraft: Sendable {
    var tenantID: UUID
    var actor: ActivityActor
    var action: ActivityAction
    var integrationID: UUID? = nil
    var details: [String: JSONValue] = [:]
}

/// What the activity log may be filtered by.
struct ActivityFilter: Sendable {
    var action: String?
    var integrationID: UUID?
    var since: Date?
    var until: Date?
}
