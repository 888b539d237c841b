import Foundation
import TributaryConnectors

/// A validated new integration, ready to be stored.
struct IntegrationDraft: Sendable {
    var id: UUID
    var tenantID: UUID
    var provider: String
    var name: String
    var config: [String: JSONValue]
    var streams: [String]
    var syncFrequencyMinutes: Int
    var streamSettings: [String: StreamSettings] = [:]
    var status: IntegrationStatus
    var maxAttempts: Int
}

/// A validated change to an integration; nil fields stay as they are.
struct IntegrationPatch: Sendable {
    var name: String?
    var config: [String: JSONValue]?
    var streams: [String]?
    var syncFrequencyMinutes: Int?
    /// Replaces every override; overrides of streams the integration no longer reads are dropped.
    var streamSettings: [String: StreamSettings]?
    var status: IntegrationStatus?
    /// What becomes of the credential: a new one given with the change, or the stored one dropped
    /// because the change moved where it would be sent (`CredentialBinding`).
    var credential: CredentialChange?

    enum CredentialChange: Sendable {
        case replace(SealedCredential)
        case clear(reason: String)
    }

    var changedFields: [String] {
        let credentialChanged: String? = if case .replace = credential { "credential" } else { nil }
        return [
            name.map { _ in "name" }, config.map { _ in "config" }, streams.map { _ in "streams" },
            syncFrequencyMinutes.map { _ in "sync_frequency_minutes" }, streamSettings.map { _ in "stream_settings" },
            status.map { _ in "status" }, credentialChanged,
        ].compactMap { $0 }
    }
}

/// A sealed credential about to be written.
struct SealedCredential: Sendable {
    var type: CredentialType
    var sealed: SealedSecret
    var fingerprint: String
    var expiresAt: Date?
    var binding: CredentialBinding
}
