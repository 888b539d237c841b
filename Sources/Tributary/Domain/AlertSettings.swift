import Foundation

/// How an integration's alerts are judged. Every field has a default, so a client may send only
/// what it changes; `PUT` replaces the whole settings, omitted fields taking their defaults.
public struct AlertSettings: Sendable, Equatable, Codable {
    public var dataSpike = DataSpike()
    public var syncFailures = SyncFailures()
    public var autoPause = AutoPause()

    /// The volume alerts: `data_spike` per stream and run, `daily_limit_exceeded` per day.
    public struct DataSpike: Sendable, Equatable, Codable {
        public var enabled = true
        /// A run is a spike above `baseline × (1 + thresholdPercent / 100)` records.
        public var thresholdPercent = 200
        /// …and at least this many records, so small streams do not alarm on noise.
        public var minRecords: Int64 = 1000
        /// The baseline is the median of this many comparable runs; none is judged before.
        public var baselineRuns = 7
        /// Records per UTC day, historical runs excepted; nil: no limit.
        @Nullable public var dailyLimit: Int64?
        public var pauseOnDailyLimit = false

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = DataSpike()
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
            thresholdPercent = try container.decodeIfPresent(Int.self, forKey: .thresholdPercent) ?? defaults.thresholdPercent
            minRecords = try container.decodeIfPresent(Int64.self, forKey: .minRecords) ?? defaults.minRecords
            baselineRuns = try container.decodeIfPresent(Int.self, forKey: .baselineRuns) ?? defaults.baselineRuns
            dailyLimit = try container.decodeIfPresent(Int64.self, forKey: .dailyLimit)
            pauseOnDailyLimit = try container.decodeIfPresent(Bool.self, forKey: .pauseOnDailyLimit) ?? defaults.pauseOnDailyLimit
        }
    }

    /// `sync_failures`: raised once per streak of this many failed runs in a row.
    public struct SyncFailures: Sendable, Equatable, Codable {
        public var enabled = true
        public var consecutiveFailures = 3

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
            consecutiveFailures = try container.decodeIfPresent(Int.self, forKey: .consecutiveFailures) ?? 3
        }
    }

    /// Pausing an integration whose runs keep failing: after `consecutiveFailures` failed runs in
    /// a row, or once its runs have failed for `failingDays` days without one succeeding. Retrying
    /// a dead account on schedule for weeks helps nobody and can get it blocked.
    public struct AutoPause: Sendable, Equatable, Codable {
        public var enabled = true
        public var consecutiveFailures = 20
        public var failingDays = 7

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = AutoPause()
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
            consecutiveFailures = try container.decodeIfPresent(Int.self, forKey: .consecutiveFailures) ?? defaults.consecutiveFailures
            failingDays = try container.decodeIfPresent(Int.self, forKey: .failingDays) ?? defaults.failingDays
        }

        /// Whether a streak of `streak` failed runs, failing for `failingFor`, has gone on too long.
        func isDue(streak: Int, failingFor: Duration) -> Bool {
            enabled && streak > 0 && (streak >= consecutiveFailures || failingFor >= .seconds(Int64(failingDays) * 86400))
        }
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dataSpike = try container.decodeIfPresent(DataSpike.self, forKey: .dataSpike) ?? DataSpike()
        syncFailures = try container.decodeIfPresent(SyncFailures.self, forKey: .syncFailures) ?? SyncFailures()
        autoPause = try container.decodeIfPresent(AutoPause.self, forKey: .autoPause) ?? AutoPause()
    }

    /// The bounds each number must keep (checked when a client sets them).
    static let thresholdPercentRange = 1...100_000
    static let minRecordsRange: ClosedRange<Int64> = 0...1_000_000_000_000
    static let baselineRunsRange = 1...100
    static let dailyLimitRange: ClosedRange<Int64> = 1...1_000_000_000_000
    static let consecutiveFailuresRange = 1...1000
    static let failingDaysRange = 1...365
}
