/// What an alert is about.
public enum AlertKind: String, Sendable, Codable, CaseIterable {
    /// One stream's records in one run far above its usual volume.
    case dataSpike = "data_spike"
    /// The records an integration loaded today passed its `daily_limit`.
    case dailyLimitExceeded = "daily_limit_exceeded"
    /// Runs failed `consecutive_failures` times in a row.
    case syncFailures = "sync_failures"
    /// The provider refused the refresh token: a person must reconnect.
    case reauthorizationRequired = "reauthorization_required"
}
