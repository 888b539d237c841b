import Foundation
import TributaryConnectors

/// Where an integration stands; how it moves is `IntegrationStatus+Transitions.swift`.
public enum IntegrationStatus: String, Sendable, Codable, CaseIterable {
    case active
    case paused
    case pendingAuthorization = "pending_authorization"
    case reauthorizationRequired = "reauthorization_required"
    case failing
}

/// The kind of a stored credential.
public enum CredentialType: String, Sendable, Codable {
    case apiKey = "api_key"
    case oauth2
}

/// What the API shows of a credential: never the secret.
public struct CredentialSummary: Sendable, Equatable, Encodable {
    public var type: CredentialType
    public var fingerprint: String
    @Nullable public var expiresAt: Date?
    public var updatedAt: Date
}

/// A tenant's connected account at one provider.
public struct Integration: Sendable, Equatable, Encodable {
    @WireID public var id: UUID
    @WireID public var tenantID: UUID
    public var provider: String
    public var name: String
    public var config: [String: JSONValue]
    public var streams: [String]
    public var syncFrequencyMinutes: Int
    public var status: IntegrationStatus
    @Nullable public var credential: CredentialSummary?
    @Nullable public var nextSyncAt: Date?
    @Nullable public var lastSync: JSONValue?
    public var createdAt: Date
    public var updatedAt: Date
}

/// The secret part of a credential, as sealed in the vault.
enum CredentialSecret: Sendable, Codable, Equatable {
    case apiKey(String)
    case oauth2(OAuthTokens)

    var type: CredentialType {
        switch self {
        case .apiKey: .apiKey
        case .oauth2: .oauth2
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
