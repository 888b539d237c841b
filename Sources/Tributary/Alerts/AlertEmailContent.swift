import Foundation

/// One day of a stream's (or, with no stream, the integration's) loaded volume.
struct DailyVolume: Sendable, Equatable {
    /// "2026-11-20" (UTC)
    var date: String
    var records: Int64
}

/// What an alert email says.
struct AlertEmailContent: Sendable, Equatable {
    var kind: AlertKind
    var alertID: UUID
    var tenantName: String
    var integrationName: String
    var integrationID: UUID
    var provider: String
    /// data_spike: the stream; others nil
    var stream: String?
    /// data_spike: records in the run; daily_limit: records today; sync_failures: failures in a row
    var observed: Int64?
    /// data_spike: the median
    var baseline: Double?
    /// data_spike: baseline × (1 + pct/100); daily_limit: the limit; sync_failures: the setting
    var threshold: Double?
    var runID: UUID?
    var raisedAt: Date
    /// Tributary paused the integration (daily limit with pause_on_daily_limit, or auto_pause)
    var paused: Bool
    /// sync_failures: the runs kept failing and auto_pause paused the integration
    var pausedForFailure = false
    /// sync_failures, reauthorization_required: the last run's error code and message
    var errorCode: String? = nil
    var error: String?
    /// 14 days ending on the alert's UTC day, oldest first, zero days included
    var volume: [DailyVolume]
}
