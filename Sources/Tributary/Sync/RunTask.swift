import Foundation
import Logging
import TributaryConnectors

/// The work of `tributary run-task <run_id>`: one run, in its own process. It reads each stream
/// from its checkpoint and stores batch after batch; it marks the run succeeded itself, and on
/// failure prints one `TRIBUTARY_ERROR {json}` line for the supervisor to record.
struct RunTask {
    let store: Store
    let factory: ConnectorFactory
    let catalog: ProviderCatalog
    let limits: TenantLimits
    let logger: Logger

    static let errorMarker = "TRIBUTARY_ERROR "

    func execute(run claimed: ClaimedRun, owner: String) async throws {
        guard let run = try await store.run(id: claimed.id),
            let integration = try await store.integration(
                tenantID: claimed.tenantID,
                id: claimed.integrationID
            ),
            let provider = catalog.provider(id: integration.provider)
        else {
            throw ConnectorError(code: "integration_gone", message: "the run's integration no longer exists", retryable: false)
        }
        let (connector, context) = try await factory.connector(for: integration, logger: logger)
        let historicalDays = context.int("historical_sync_days") ?? 90
        let cursors = try await store.cursors(integrationID: integration.id)

        try await store.withRecordsWriter(run: claimed, owner: owner) { writer in
            for name in run.streamNames {
                guard let stream = provider.streams(config: integration.config).first(where: { $0.name == name }) else {
                    throw ConnectorError(code: "unknown_stream", message: "the integration's config has no stream \(name)", retryable: false)
                }
                if run.streams[name]?.status == .succeeded { continue }  // done by an earlier attempt
                // A full resync starts from nothing: its first attempt at a stream forgets the stream's
                // checkpoint (and says so in the run) in one transaction, so a retry resumes from this
                // run's own checkpoints, never from the one it was asked to ignore.
                var cursor: JSONValue? = cursors[name]  // full-refresh connectors ignore it; child streams resume at their parent
                if run.fullResync, run.streams[name] == nil {
                    try await writer.startResync(stream: name)
                    cursor = nil
                }
                let request = StreamRequest(stream: stream, cursor: cursor, historicalSyncDays: historicalDays)
                var seen: Set<String>? = connector.isCompletePass(request) ? [] : nil
                var log = logger
                log[metadataKey: "stream"] = "\(name)"
                log.info("stream started", metadata: ["resuming": "\(cursor != nil)"])
                // One batch is written while the connector reads the next: at most two in memory,
                // and the source and Postgres work at the same time. The write is always awaited.
                var inFlight: Task<Void, any Error>?
                do {
                    try await connector.read(request) { batch in
                        // A record that was read counts as seen, stored or not: a full refresh must
                        // not tombstone a record only because it grew past the size limit.
                        if seen != nil { seen?.formUnion(batch.records.map(\.id)) }
                        let (records, skipped) = Self.withinSizeLimit(batch.records, maxBytes: limits.maxRecordBytes, log: log)
                        try await inFlight?.value
                        let batchLog = log
                        inFlight = Task {
                            let written = try await writer.write(
                                stream: name,
                                records: records,
                                skipped: skipped,
                                checkpoint: batch.checkpoint,
                                maxTenantRecords: limits.maxRecords
                            )
                            batchLog.debug("batch stored", metadata: ["records": "\(records.count)", "upserted": "\(written.upserted)"])
                        }
                    }
                    try await inFlight?.value
                } catch let limit as RecordsWriter.TenantRecordLimit {
                    throw ConnectorError(
                        code: "record_limit_exceeded",
                        message: "the tenant holds its limit of \(limit.max) records (records_per_tenant); the batch was not stored",
                        retryable: false
                    )
                } catch {
                    _ = try? await inFlight?.value
                    throw error
                }
                let deleted = try await writer.finish(stream: name, fullRefreshSeen: seen)
                log.info("stream finished", metadata: ["deleted": "\(deleted)"])
            }
        }
        guard try await store.completeRun(runID: claimed.id, owner: owner) else { throw RecordsWriter.LeaseLost() }
    }

    /// The records of a batch within the size limit, and how many were not.
    static func withinSizeLimit(_ records: [SourceRecord], maxBytes: Int, log: Logger) -> ([SourceRecord], skipped: Int64) {
        let kept = records.filter { $0.json.utf8.count <= maxBytes }
        if kept.count < records.count {
            for record in records where record.json.utf8.count > maxBytes {
                log.warning(
                    "record over the size limit skipped",
                    metadata: ["record_id": "\(record.id.prefix(200))", "bytes": "\(record.json.utf8.count)", "max_bytes": "\(maxBytes)"]
                )
            }
        }
        return (kept, Int64(records.count - kept.count))
    }

    /// The line the supervisor reads back as the run's error.
    static func errorLine(code: String, message: String, retryable: Bool) -> String {
        let body = (try? JSONColumn.text(["code": JSONValue.string(code), "message": .string(message), "retryable": .bool(retryable)])) ?? "{}"
        return errorMarker + body
    }
}

/// Access tokens for a connector, from the vault's shared refresher.
struct RefreshingTokenSource: AccessTokenSource {
    let refresher: TokenRefresher
    let integrationID: UUID

    func accessToken(rejected: String?) async throws -> String {
        do {
            return try await refresher.accessToken(integrationID: integrationID, rejected: rejected)
        } catch TokenRefresher.RefreshError.reauthorizationRequired {
            throw ConnectorError(
                code: "reauthorization_required",
                message: "the provider refused the refresh token; reconnect the integration",
                retryable: false
            )
        } catch TokenRefresher.RefreshError.unavailable(let reason) {
            throw ConnectorError(code: "token_refresh_failed", message: reason, retryable: true)
        }
    }
}
