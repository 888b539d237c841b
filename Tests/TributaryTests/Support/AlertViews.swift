import Foundation

/// An alert as `GET …/alerts` lists it.
struct AlertView: Decodable {
    struct Delivery: Decodable {
        var email: String
        var attempts: Int
        var sentAt: Date?
        var lastError: String?
    }

    var id: String
    var kind: String
    var integrationID: String?
    var stream: String?
    var observed: Int?
    var baseline: Double?
    var threshold: Double?
    var runID: String?
    var details: [String: JSON]
    var createdAt: Date
    var delivery: Delivery
}

/// `GET|PUT …/alert-settings`, and a body to PUT.
struct AlertSettingsView: Codable, Equatable {
    struct DataSpike: Codable, Equatable {
        var enabled: Bool
        var thresholdPercent: Int
        var minRecords: Int
        var baselineRuns: Int
        var dailyLimit: Int?
        var pauseOnDailyLimit: Bool
    }

    struct SyncFailures: Codable, Equatable {
        var enabled: Bool
        var consecutiveFailures: Int
    }

    var dataSpike: DataSpike
    var syncFailures: SyncFailures

    static let defaults = AlertSettingsView(
        dataSpike: DataSpike(enabled: true, thresholdPercent: 200, minRecords: 1000, baselineRuns: 7, dailyLimit: nil, pauseOnDailyLimit: false),
        syncFailures: SyncFailures(enabled: true, consecutiveFailures: 3)
    )
}

/// One day of `GET …/volume`.
struct VolumeView: Decodable, Equatable {
    var date: String
    var stream: String
    var records: Int
}

/// A webhook endpoint; `secret` only in the answer that created it.
struct WebhookView: Decodable {
    var id: String
    var url: String
    var events: [String]
    var status: String
    var secret: String?
    var createdAt: Date
    var disabledAt: Date?
}

/// `POST …/webhooks/{id}/test`.
struct WebhookTestView: Decodable {
    var delivered: Bool
    var eventID: String
    var status: Int?
    var error: String?
    var body: String
}

/// `POST …/webhooks`.
struct WebhookBody: Encodable {
    var url: String
    var events: [String]
}
