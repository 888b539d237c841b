import Foundation

// What a client reads back from the API, decoded with `Wire.decoder`: plain test structs, not the
// server's types, holding the members a client relies on (a missing or mistyped one fails the
// decoding). Ids stay strings, as they are on the wire (lower-case UUIDs); whether a member is
// `null` or missing is `Reply.raw`'s to tell.

/// The list envelope: `{"data":[…],"next_cursor":…}` (records pages add `has_more`).
struct ListOf<Item: Decodable>: Decodable {
    var data: [Item]
    var nextCursor: String?
    var hasMore: Bool?
}

/// An RFC 9457 problem answer.
struct ProblemView: Decodable {
    struct FieldError: Decodable {
        var field: String
        var message: String
    }

    var type: String
    var title: String
    var status: Int
    var detail: String
    var requestID: String?
    var errors: [FieldError]?
    /// A 409's conflicting run.
    var runID: String?
}

struct TenantView: Decodable {
    var id: String
    var name: String
    var alertEmails: [String]
    var status: String
    var createdAt: Date
    var updatedAt: Date
}

/// A key as listed; `key` (the secret) only in the answer that created it.
struct APIKeyView: Decodable {
    var id: String
    var name: String
    var prefix: String
    var key: String?
    var createdAt: Date
    var lastUsedAt: Date?
}

struct IntegrationView: Decodable {
    struct Credential: Decodable {
        var type: String
        var fingerprint: String
        var expiresAt: Date?
    }

    struct LastSync: Decodable {
        var status: String
    }

    var id: String
    var tenantID: String
    var provider: String
    var name: String
    var config: [String: JSON]
    var streams: [String]
    var syncFrequencyMinutes: Int
    var status: String
    var pausedReason: String?
    var credential: Credential?
    var nextSyncAt: Date?
    var lastSync: LastSync?
    var streamSettings: [String: JSON]
    var streamSchedules: [String: Schedule]

    struct Schedule: Decodable {
        var syncFrequencyMinutes: Int
        var nextSyncAt: Date?
    }
}

struct RunView: Decodable {
    struct Stream: Decodable {
        var status: String
        var recordsRead: Int
        var recordsUpserted: Int
        var recordsDeleted: Int
        var recordsSkipped: Int
    }

    var id: String
    var integrationID: String
    var trigger: String
    var status: String
    var fullResync: Bool
    var attempt: Int
    var streams: [String: Stream]
    var recordsTotal: Int
    var error: ErrorView?
    var finishedAt: Date?

    var hasEnded: Bool { ["succeeded", "failed", "cancelled"].contains(status) }
}

/// A run's or a check's error.
struct ErrorView: Decodable {
    var code: String
    var message: String
}

/// `POST …/check`: `error` only when not ok.
struct CheckView: Decodable {
    var ok: Bool
    var error: ErrorView?
}

/// `GET …/state`: each stream's cursor.
struct StateView: Decodable {
    struct Stream: Decodable {
        var cursor: JSON?
        var updatedAt: Date
    }

    var streams: [String: Stream]
}

struct RecordView: Decodable {
    var id: String
    var stream: String
    var data: JSON
    var deleted: Bool
    var firstSeenAt: Date
    var lastModifiedAt: Date
}

struct ActivityView: Decodable {
    var id: String
    var at: Date
    var actor: ActorView
    var action: String
    var severity: String
    var integrationID: String?
    var details: [String: JSON]
}

/// Who did something: `{"type":"api_key","id":…}`, `{"type":"admin","id":null}`.
struct ActorView: Decodable, Equatable {
    var type: String
    var id: String?

    static let admin = ActorView(type: "admin", id: nil)
    static func apiKey(_ id: String) -> ActorView { ActorView(type: "api_key", id: id) }
}

struct ProviderView: Decodable {
    struct Stream: Decodable {
        var name: String
        var primaryKey: [String]
        var syncMode: String
    }

    var id: String
    var authTypes: [String]
    var streams: [Stream]
    var configSchema: JSON
}

/// `/healthz` and `/readyz` when all is well.
struct HealthView: Decodable {
    var status: String
}

/// `POST …/oauth/authorize`: where to send the person.
struct AuthorizationView: Decodable {
    var authorizeURL: String
    var state: String
    var expiresAt: Date
}

/// The OAuth callback's answer.
struct ConnectedView: Decodable {
    var integrationID: String
    var status: String
}
