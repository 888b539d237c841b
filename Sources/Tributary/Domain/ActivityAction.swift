/// Everything the activity log records, as it names it. A set of constants rather than an enum:
/// the log is append-only and outlives versions, so an entry written by a newer Tributary (an
/// action this build does not know) still reads back, as the API contract asks of clients too.
public struct ActivityAction: RawRepresentable, Hashable, Sendable, Codable {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    static let tenantCreated = Self(rawValue: "tenant.created")
    static let tenantUpdated = Self(rawValue: "tenant.updated")
    static let apiKeyCreated = Self(rawValue: "api_key.created")
    static let apiKeyRevoked = Self(rawValue: "api_key.revoked")
    static let integrationCreated = Self(rawValue: "integration.created")
    static let integrationUpdated = Self(rawValue: "integration.updated")
    static let integrationDeleted = Self(rawValue: "integration.deleted")
    static let credentialUpdated = Self(rawValue: "credential.updated")
    static let oauthConnected = Self(rawValue: "oauth.connected")
    static let oauthRefreshed = Self(rawValue: "oauth.refreshed")
    static let oauthRefreshFailed = Self(rawValue: "oauth.refresh_failed")
    static let syncStarted = Self(rawValue: "sync.started")
    static let syncSucceeded = Self(rawValue: "sync.succeeded")
    static let syncFailed = Self(rawValue: "sync.failed")
    static let syncCancelled = Self(rawValue: "sync.cancelled")
    static let credentialCleared = Self(rawValue: "credential.cleared")
    static let stateReset = Self(rawValue: "state.reset")
    static let alertRaised = Self(rawValue: "alert.raised")
}
