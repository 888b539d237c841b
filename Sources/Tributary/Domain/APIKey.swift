import Foundation

/// A tenant's API key as the API shows it: never the secret.
public struct APIKey: Sendable, Encodable, Equatable {
    @WireID public var id: UUID
    public var tenantID: UUID
    public var name: String
    public var prefix: String
    public var createdAt: Date
    @Nullable public var lastUsedAt: Date?

    enum CodingKeys: CodingKey {
        // The tenant is the path's; the answer does not repeat it.
        case id, name, prefix, createdAt, lastUsedAt
    }
}
