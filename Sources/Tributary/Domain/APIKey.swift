import Foundation

/// A tenant's API key as the API shows it: never the secret.
public struct APIKey: Sendable, Encodable, Equatable {
    public var id: UUID
    public var tenantID: UUID
    public var name: String
    public var prefix: String
    public var createdAt: Date
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, prefix
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id: id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
    }

    public init(id: UUID, tenantID: UUID, name: String, prefix: String, createdAt: Date, lastUsedAt: Date?) {
        self.id = id
        self.tenantID = tenantID
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}
