import Foundation

/// A customer of the platform; everything else belongs to one.
public struct Tenant: Sendable, Codable, Equatable {
    @WireID public var id: UUID
    public var name: String
    public var alertEmails: [String]
    public var status: TenantStatus
    public var createdAt: Date
    public var updatedAt: Date
}

/// Whether a tenant's keys and integrations work.
public enum TenantStatus: String, Sendable, Codable {
    case active
}
