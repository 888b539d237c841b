import Logging

/// One record as the provider sent it: its primary key, and its JSON text untouched.
public struct SourceRecord: Sendable, Equatable {
    public var id: String
    public var json: String

    public init(id: String, json: String) {
        self.id = id
        self.json = json
    }
}

/// Records read together, and the checkpoint that is true once they are stored.
public struct RecordBatch: Sendable {
    public var records: [SourceRecord]
    /// The cursor to resume from after this batch; nil leaves the stored cursor as it is.
    public var checkpoint: JSONValue?

    public init(records: [SourceRecord], checkpoint: JSONValue?) {
        self.records = records
        self.checkpoint = checkpoint
    }
}

/// What one stream read starts from.
public struct StreamRequest: Sendable {
    public var stream: StreamDescriptor
    /// The last stored checkpoint; nil for a first (historical) read or a full resync.
    public var cursor: JSONValue?
    /// How far back a read without a cursor goes.
    public var historicalSyncDays: Int

    public init(stream: StreamDescriptor, cursor: JSONValue?, historicalSyncDays: Int) {
        self.stream = stream
        self.cursor = cursor
        self.historicalSyncDays = historicalSyncDays
    }
}

/// Hands out the current OAuth access token; `rejected` asks for a new one after a provider 401.
public protocol AccessTokenSource: Sendable {
    func accessToken(rejected: String?) async throws -> String
}

/// How a connector authenticates to its provider.
public enum ConnectorCredential: Sendable {
    case none
    case apiKey(String)
    case oauth2(any AccessTokenSource)
}

/// Everything a connector is given for one run; nothing of Postgres, tenants or HTTP serving.
public struct ConnectorContext: Sendable {
    public var config: [String: JSONValue]
    public var credential: ConnectorCredential
    public var logger: Logger
    /// Where its requests may go: by default, public addresses only.
    public var egress: EgressPolicy
    /// Pages, time, answer size and attempts (a check: one attempt, a 1 MiB answer).
    public var limits: ConnectorLimits

    public init(
        config: [String: JSONValue],
        credential: ConnectorCredential,
        logger: Logger,
        egress: EgressPolicy = .publicOnly,
        limits: ConnectorLimits = ConnectorLimits()
    ) {
        self.config = config
        self.credential = credential
        self.logger = logger
        self.egress = egress
        self.limits = limits
    }

    public func int(_ key: String) -> Int? {
        if case .number(let value)? = config[key] { return Int(exactly: value) }
        return nil
    }

    public func string(_ key: String) -> String? {
        if case .string(let value)? = config[key] { return value }
        return nil
    }
}

/// A provider's data, read stream by stream.
public protocol Connector: Sendable {
    /// One real call to the provider, to tell whether the credential and config work.
    func check() async throws
    /// Reads a stream from `request.cursor` on, handing each batch to `emit`, which returns once
    /// the batch is stored: the next page is not fetched before, so memory stays one batch deep.
    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws
    /// Whether reading `request` is a complete pass over the stream, so that a stored record it does
    /// not read has ended and becomes a tombstone once the read succeeds. Asked before the read, with
    /// the cursor the read gets; a read that fails or stops early never tombstones.
    func isCompletePass(_ request: StreamRequest) -> Bool
}

extension Connector {
    /// A full-refresh stream reads everything each run (its connector ignores any cursor); an
    /// incremental one only what changed.
    public func isCompletePass(_ request: StreamRequest) -> Bool {
        request.stream.syncMode == .fullRefresh
    }
}

/// Why a read failed, in words fit for the run's error: never a credential.
public struct ConnectorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// Whether another attempt may succeed (rate limits, 5xx, timeouts) or not (a bad key, a 404).
    public var retryable: Bool

    public init(code: String, message: String, retryable: Bool) {
        self.code = code
        self.message = message
        self.retryable = retryable
    }

    public var description: String { "\(code): \(message)" }

    /// The provider refused the credential (401 or 403): a person must give a new one.
    public static let credentialRejected = "credential_rejected"
}
