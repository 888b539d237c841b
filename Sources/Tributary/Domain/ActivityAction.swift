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
    /// A caller set a stream's position (`PUT …/state/{stream}`).
    static let stateChanged = Self(rawValue: "state.changed")
    static let alertRaised = Self(rawValue: "alert.raised")
    static let alertDelivered = Self(rawValue: "alert.delivered")
    /// The alert email could not be sent before the outbox gave up on it.
    static let alertEmailFailed = Self(rawValue: "alert.email_failed")
    static let alertSettingsUpdated = Self(rawValue: "alert_settings.updated")
    static let integrationPaused = Self(rawValue: "integration.paused")
    /// A run's provider refused the credential: the integration needs a new one.
    static let credentialRejected = Self(rawValue: "credential.rejected")
    static let webhookCreated = Self(rawValue: "webhook.created")
    static let webhookDeleted = Self(rawValue: "webhook.deleted")
    /// A delivery was given up on after its last retry.
    static let webhookFailed = Self(rawValue: "webhook.failed")
    /// The receiver answered 410 Gone: nothing more is sent to it.
    static let webhookDisabled = Self(rawValue: "webhook.disabled")
}
