import Foundation
import TributaryConnectors

/// What started a run.
public enum RunTrigger: String, Sendable, Codable {
    case initial, schedule, manual
}

/// Where a run stands.
public enum RunStatus: String, Sendable, Codable {
    case queued, running, succeeded, failed, cancelled

    var isFinished: Bool { [.succeeded, .failed, .cancelled].contains(self) }
}

/// Where one stream of a run stands.
public enum StreamStatus: String, Sendable, Codable {
    case pending, running, succeeded
}

/// One stream's counts within a run.
public struct StreamStats: Sendable, Codable, Equatable {
    public var recordsRead: Int64 = 0
    public var recordsUpserted: Int64 = 0
    public var recordsDeleted: Int64 = 0
    /// Read but not stored: over `TRIBUTARY_MAX_RECORD_BYTES`.
    public var recordsSkipped: Int64 = 0
    public var status: StreamStatus = .pending

    init() {}

    /// Counts a run stored before a count existed read as 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        recordsRead = try container.decodeIfPresent(Int64.self, forKey: .recordsRead) ?? 0
        recordsUpserted = try container.decodeIfPresent(Int64.self, forKey: .recordsUpserted) ?? 0
        recordsDeleted = try container.decodeIfPresent(Int64.self, forKey: .recordsDeleted) ?? 0
        recordsSkipped = try container.decodeIfPresent(Int64.self, forKey: .recordsSkipped) ?? 0
        status = try container.decodeIfPresent(StreamStatus.self, forKey: .status) ?? .pending
    }
}

/// An error as a run shows it.
public struct RunError: Sendable, Codable, Equatable {
    public var code: String
    public var message: String

    /// `{"code": …, "message": …}`: the error as activity entries and alerts carry it.
    var json: JSONValue {
        ["code": .string(code), "message": .string(message)]
    }
}

/// One sync run of an integration.
public struct SyncRun: Sendable, Equatable, Encodable {
    @WireID public var id: UUID
    public var tenantID: UUID
    @WireID public var integrationID: UUID
    public var trigger: RunTrigger
    public var status: RunStatus
    public var streamNames: [String]
    public var fullResync: Bool
    public var attempt: Int
    public var queuedAt: Date
    @Nullable public var startedAt: Date?
    @Nullable public var finishedAt: Date?
    /// The counts of the streams read so far; `allStreams` is what answers show.
    public var streams: [String: StreamStats]
    public var recordsTotal: Int64
    @Nullable public var error: RunError?

    /// The first run of an integration and full resyncs read history: they are neither a
    /// baseline for nor judged by the volume alerts.
    public var isHistorical: Bool { trigger == .initial || fullResync }

    /// Every requested stream, with zero counts until it is read.
    public var allStreams: [String: StreamStats] {
        var all = Dictionary(streamNames.map { ($0, StreamStats()) }, uniquingKeysWith: { first, _ in first })
        all.merge(streams) { _, stored in stored }
        return all
    }

    private struct Wire: Encodable {
        @WireID var id: UUID
        @WireID var integrationID: UUID
        var trigger: RunTrigger
        var status: RunStatus
        var fullResync: Bool
        var attempt: Int
        var queuedAt: Date
        @Nullable var startedAt: Date?
        @Nullable var finishedAt: Date?
        var streams: [String: StreamStats]
        var recordsTotal: Int64
        @Nullable var error: RunError?
    }

    public func encode(to encoder: any Encoder) throws {
        try Wire(
            id: id,
            integrationID: integrationID,
            trigger: trigger,
            status: status,
            fullResync: fullResync,
            attempt: attempt,
            queuedAt: queuedAt,
            startedAt: startedAt,
            finishedAt: finishedAt,
            streams: allStreams,
            recordsTotal: recordsTotal,
            error: error
        ).encode(to: encoder)
    }
}
