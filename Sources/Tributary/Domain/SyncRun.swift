import Foundation
import TributaryConnectors

/// What started a run.
public enum RunTrigger: String, Sendable, Codable {
    case initial, schedule, manual, retry
}

/// Where a run stands.
public enum RunStatus: String, Sendable, Codable {
    case queued, running, succeeded, failed, cancelled

    var isFinished: Bool { [.succeeded, .failed, .cancelled].contains(self) }
}

/// One stream's counts within a run.
public struct StreamStats: Sendable, Codable, Equatable {
    public var recordsRead: Int64 = 0
    public var recordsUpserted: Int64 = 0
    public var recordsDeleted: Int64 = 0
    public var status: String = "pending"

    enum CodingKeys: String, CodingKey {
        case status
        case recordsRead = "records_read"
        case recordsUpserted = "records_upserted"
        case recordsDeleted = "records_deleted"
    }
}

/// An error as a run shows it.
public struct RunError: Sendable, Codable, Equatable {
    public var code: String
    public var message: String
}

/// One sync run of an integration.
public struct SyncRun: Sendable, Equatable, Encodable {
    public var id: UUID
    public var tenantID: UUID
    public var integrationID: UUID
    public var trigger: RunTrigger
    public var status: RunStatus
    public var streamNames: [String]
    public var fullResync: Bool
    public var attempt: Int
    public var queuedAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var streams: [String: StreamStats]
    public var recordsTotal: Int64
    public var error: RunError?

    /// The first run of an integration and full resyncs read history: they are neither a
    /// baseline for nor judged by the volume alerts.
    public var isHistorical: Bool { trigger == .initial || fullResync }

    enum CodingKeys: String, CodingKey {
        case id, trigger, status, attempt, streams, error
        case integrationID = "integration_id"
        case fullResync = "full_resync"
        case queuedAt = "queued_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case recordsTotal = "records_total"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id: id, forKey: .id)
        try container.encode(id: integrationID, forKey: .integrationID)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(status, forKey: .status)
        try container.encode(fullResync, forKey: .fullResync)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(queuedAt, forKey: .queuedAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        // Every requested stream shows, with zero counts until it is read.
        var all = Dictionary(uniqueKeysWithValues: streamNames.map { ($0, StreamStats()) })
        all.merge(streams) { _, stored in stored }
        try container.encode(all, forKey: .streams)
        try container.encode(recordsTotal, forKey: .recordsTotal)
        try container.encode(error, forKey: .error)
    }
}
