import Foundation
import TributaryConnectors

/// One line of a tenant's activity log.
public struct ActivityEntry: Sendable, Codable, Equatable {
    public var id: UUID
    public var at: Date
    public var actor: Actor
    public var action: String
    public var integrationID: UUID?
    public var details: [String: JSONValue]

    enum CodingKeys: String, CodingKey {
        case id, at, actor, action, details
        case integrationID = "integration_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id: id, forKey: .id)
        try container.encode(at, forKey: .at)
        try container.encode(actor, forKey: .actor)
        try container.encode(action, forKey: .action)
        try container.encode(id: integrationID, forKey: .integrationID)
        try container.encode(details, forKey: .details)
    }
}

/// An entry about to be written, in the same transaction as the change it records.
struct ActivityDraft: Sendable {
    var tenantID: UUID
    var actor: Actor
    var action: String
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
