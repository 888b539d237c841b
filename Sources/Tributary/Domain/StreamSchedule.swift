import Foundation

/// A stream's own settings within its integration (`stream_settings`): for now, how often it is read.
public struct StreamSettings: Sendable, Equatable, Codable {
    public var syncFrequencyMinutes: Int

    /// The bounds of a stream's frequency, the same as an integration's.
    static let frequencyRange = 30...1440
}

/// When a stream is read: its frequency (its own, or its integration's) and when it is next due.
public struct StreamSchedule: Sendable, Equatable, Encodable {
    public var syncFrequencyMinutes: Int
    @Nullable public var nextSyncAt: Date?

    /// Each stream of an integration: a stream's own next time, or, before it has one, its
    /// integration's; none while the integration is not scheduled.
    static func of(
        streams: [String],
        settings: [String: StreamSettings],
        frequency: Int,
        status: IntegrationStatus,
        nextSyncAt: Date?,
        streamNext: [String: Date]
    ) -> [String: StreamSchedule] {
        var schedules: [String: StreamSchedule] = [:]
        for stream in streams {
            schedules[stream] = StreamSchedule(
                syncFrequencyMinutes: settings[stream]?.syncFrequencyMinutes ?? frequency,
                nextSyncAt: status.isScheduled ? streamNext[stream] ?? nextSyncAt : nil
            )
        }
        return schedules
    }
}
