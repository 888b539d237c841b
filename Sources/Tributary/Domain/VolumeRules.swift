import Foundation

/// The rules of the volume alerts: which runs are comparable, what a spike is, and when the daily
/// limit is passed. The Store applies them in the transaction that ends a run.
enum VolumeRules {
    /// A run's volume may be judged (and, once it succeeded, be a baseline) when it read no
    /// history and its window was an ordinary one: the integration active, with no pause,
    /// reauthorization or failure streak since its last comparable run.
    static func isComparable(_ run: SyncRun, status: IntegrationStatus, volumeGap: Bool) -> Bool {
        !run.isHistorical && status == .active && !volumeGap
    }

    /// The median of `values` (the mean of the middle two for an even count); nil for none.
    static func median(_ values: [Int64]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        if sorted.count % 2 == 1 { return Double(sorted[middle]) }
        return (Double(sorted[middle - 1]) + Double(sorted[middle])) / 2
    }

    /// A spike judged against a stream's history (its latest comparable runs, newest first).
    struct Spike: Sendable, Equatable {
        var observed: Int64
        var baseline: Double
        var threshold: Double
    }

    /// The spike `observed` is, or nil: not enough history yet, or within bounds.
    static func spike(observed: Int64, history: [Int64], settings: AlertSettings.DataSpike) -> Spike? {
        guard settings.enabled, history.count >= settings.baselineRuns, let baseline = median(history) else { return nil }
        let threshold = baseline * (1 + Double(settings.thresholdPercent) / 100)
        guard Double(observed) > threshold, observed >= settings.minRecords else { return nil }
        return Spike(observed: observed, baseline: baseline, threshold: threshold)
    }

    /// Whether `loadedToday` records (this run's included) pass the daily limit.
    static func passesDailyLimit(loadedToday: Int64, settings: AlertSettings.DataSpike) -> Bool {
        guard let limit = settings.dailyLimit else { return false }
        return loadedToday > limit
    }

    /// Whether this failed run makes the streak an alert (once per streak: the Store's key says so).
    static func failureStreakAlerts(streak: Int, settings: AlertSettings.SyncFailures) -> Bool {
        settings.enabled && streak >= settings.consecutiveFailures
    }
}
