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

/// Why a paused integration is paused.
public enum PausedReason: String, Sendable, Codable {
    /// A person paused it.
    case manual
    /// Its daily limit passed, with `pause_on_daily_limit`.
    case dailyLimitExceeded = "daily_limit_exceeded"
    /// Its runs kept failing (`auto_pause`).
    case persistentFailure = "persistent_failure"
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
    /// Per-stream overrides, as the client set them.
    public var streamSettings: [String: StreamSettings] = [:]
    /// Every stream's frequency and next run.
    public var streamSchedules: [String: StreamSchedule] = [:]
    public var status: IntegrationStatus
    /// Set while `status` is `paused`.
    @Nullable public var pausedReason: PausedReason?
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
