import Foundation
import TributaryConnectors

/// Where an integration stands.
public enum IntegrationStatus: String, Sendable, Codable, CaseIterable {
    case active
    case paused
    case pendingAuthorization = "pending_authorization"
    case reauthorizationRequired = "reauthorization_required"
    case failing
}

/// What the API shows of a credential: never the secret.
public struct CredentialSummary: Sendable, Equatable, Encodable {
    public var type: String
    public var fingerprint: String
    public var expiresAt: Date?
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case type, fingerprint
        case expiresAt = "expires_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A tenant's connected account at one provider.
public struct Integration: Sendable, Equatable, Encodable {
    public var id: UUID
    public var tenantID: UUID
    public var provider: String
    public var name: String
    public var config: [String: JSONValue]
    public var streams: [String]
    public var syncFrequencyMinutes: Int
    public var status: IntegrationStatus
    public var credential: CredentialSummary?
    public var nextSyncAt: Date?
    public var lastSync: JSONValue?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, provider, name, config, streams, status, credential
        case tenantID = "tenant_id"
        case syncFrequencyMinutes = "sync_frequency_minutes"
        case nextSyncAt = "next_sync_at"
        case lastSync = "last_sync"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id: id, forKey: .id)
        try container.encode(id: tenantID, forKey: .tenantID)
        try container.encode(provider, forKey: .provider)
        try container.encode(name, forKey: .name)
        try container.encode(config, forKey: .config)
        try container.encode(streams, forKey: .streams)
        try container.encode(syncFrequencyMinutes, forKey: .syncFrequencyMinutes)
        try container.encode(status, forKey: .status)
        try container.encode(credential, forKey: .credential)
        try container.encode(nextSyncAt, forKey: .nextSyncAt)
        try container.encode(lastSync, forKey: .lastSync)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// The secret part of a credential, as sealed in the vault.
enum CredentialSecret: Sendable, Codable, Equatable {
    case apiKey(String)
    case oauth2(OAuthTokens)

    var type: String {
        switch self {
        case .apiKey: "api_key"
        case .oauth2: "oauth2"
        }
    }

    /// What the fingerprint is computed from.
    var fingerprintSource: String {
        switch self {
        case .apiKey(let key): key
        case .oauth2(let tokens): tokens.refreshToken ?? tokens.accessToken
        }
    }
}

/// Tokens from a provider's token endpoint.
struct OAuthTokens: Sendable, Codable, Equatable {
    var accessToken: String
    var refreshToken: String?
    var tokenType: String?
    var scope: String?
    var expiresAt: Date?
}
