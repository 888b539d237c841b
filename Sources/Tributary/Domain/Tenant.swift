import Foundation

/// A customer of the platform; everything else belongs to one.
public struct Tenant: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var alertEmails: [String]
    public var status: String
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, status
        case alertEmails = "alert_emails"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id: id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(alertEmails, forKey: .alertEmails)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
