import Foundation
import Logging
import TributaryConnectors

/// OAuth tokens for connector tests: hands out `tokens` in turn, a new one each time the
/// connector reports the current one rejected.
actor TestTokenSource: AccessTokenSource {
    private var tokens: [String]
    private(set) var refreshes = 0

    init(tokens: [String]) { self.tokens = tokens }

    func accessToken(rejected: String?) async throws -> String {
        if let rejected, rejected == tokens.first, tokens.count > 1 {
            tokens.removeFirst()
            refreshes += 1
        }
        return tokens[0]
    }
}

/// Collects what a read emits.
actor Collected {
    var records: [SourceRecord] = []
    var checkpoints: [JSONValue?] = []

    func add(_ batch: RecordBatch) {
        records += batch.records
        checkpoints.append(batch.checkpoint)
    }

    var ids: [String] { records.map(\.id) }
    var lastCheckpoint: JSONValue? { checkpoints.compactMap { $0 }.last }
}

/// Stands for a crash of the run-task between two pages.
struct SimulatedCrash: Error {}

/// The egress policy of the connector tests: their fakes listen on 127.0.0.1, and only there.
let testEgress = EgressPolicy(allowed: IPNetwork("127.0.0.1/32").map { [$0] } ?? [])

func testContext(
    _ config: [String: JSONValue],
    credential: ConnectorCredential,
    egress: EgressPolicy = testEgress,
    limits: ConnectorLimits = ConnectorLimits()
) -> ConnectorContext {
    var logger = Logger(label: "connector-test")
    logger.logLevel = .warning
    return ConnectorContext(config: config, credential: credential, logger: logger, egress: egress, limits: limits)
}

func iso(_ date: Date) -> String { Timestamps.format(date) }
