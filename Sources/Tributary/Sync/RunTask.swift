import Foundation
import Logging
import TributaryConnectors

/// The work of `tributary run-task <run_id>`: one run, in its own process. It reads the run's
/// streams, `streamsPerRun` at once, each from its checkpoint and on a connection of its own, and
/// stores batch after batch; it marks the run succeeded itself, and on failure prints one
/// `TRIBUTARY_ERROR {json}` line for the supervisor to record. The first stream to fail stops the
/// others at once (each keeps what it stored: every batch commits with its checkpoint), and a retry
/// reads again only the streams that did not finish.
struct RunTask {
    let store: Store
    let factory: ConnectorFactory
    let catalog: ProviderCatalog
    let limits: TenantLimits
    /// Streams of one run read at once (each on its endpoint's budget; the writes take turns on the
    /// integration's row, so a provider's pace, not Postgres, sets the speed).
    var streamsPerRun = 4
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
        let configured = provider.streams(config: integration.config)
        var pending: [StreamDescriptor] = []
        for name in run.streamNames {
            guard let stream = configured.first(where: { $0.name == name }) else {
                throw ConnectorError(code: "unknown_stream", message: "the integration's config has no stream \(name)", retryable: false)
            }
            if run.streams[name]?.status != .succeeded { pending.append(stream) }  // else done by an earlier attempt
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, stream) in pending.enumerated() {
                if index >= streamsPerRun { try await group.next() }
                // A full resync starts from nothing: its first attempt at a stream forgets the stream's
                // checkpoint (and says so in the run) in one transaction, so a retry resumes from this
                // run's own checkpoints, never from the one it was asked to ignore.
                let cursor = cursors[stream.name]  // full-refresh connectors ignore it; child streams resume at their parent
                let resync = run.fullResync && run.streams[stream.name] == nil
                let read = StreamRequest(stream: stream, cursor: resync ? nil : cursor, historicalSyncDays: historicalDays)
                group.addTask {
                    try await store.withRecordsWriter(run: claimed, owner: owner) { writer in
                        if resync { try await writer.startResync(stream: stream.name) }
                        try await sync(read, from: connector, into: writer)
                    }
                }
            }
            // Not `waitForAll()`: that waits out every sibling of a stream that failed. The first
            // error thrown here leaves the group, which cancels the others.
            while try await group.next() != nil {}
        }
        guard try await store.completeRun(runID: claimed.id, owner: owner) else { throw RecordsWriter.LeaseLost() }
    }

    /// Reads one stream and stores it, batch by batch; a full refresh then marks what it did not see as deleted.
    private func sync(_ request: StreamRequest, from connector: any Connector, into writer: RecordsWriter) async throws {
        let name = request.stream.name
        // A complete pass marks as deleted what it did not see; with nothing of the stream stored
        // (a first load; runs of one integration never overlap), there is nothing it could miss.
        var seen: Set<String>? = connector.isCompletePass(request) ? [] : nil
        if seen != nil, try await !writer.hasLiveRecords(stream: name) { seen = nil }
        var log = logger
        log[metadataKey: "stream"] = "\(name)"
        log.info("stream started", metadata: ["resuming": "\(request.cursor != nil)"])
        // Batches are written in order while the connector reads on: up to `writesAhead` wait
        // their turn behind the one being written, so neither side waits for the other's slow
        // moments. Each write is always awaited (and, an unstructured task, not cancelled when a
        // sibling stream's failure cancels this read); a write runs only once the one before it
        // has committed, and not at all if that one failed.
        var writes: [Task<Void, any Error>] = []
        do {
            try await connector.read(request) { batch in
                // A record that was read counts as seen, stored or not: a full refresh must
                // not tombstone a record only because it grew past the size limit.
                if seen != nil { seen?.formUnion(batch.records.map(\.id)) }
                let (records, skipped) = Self.withinSizeLimit(batch.records, maxBytes: limits.maxRecordBytes, log: log)
                if writes.count > Self.writesAhead { try await writes.removeFirst().value }
                let previous = writes.last
                let batchLog = log
                writes.append(
                    Task {
                        try await previous?.value
                        let written = try await writer.write(
                            stream: name,
                            records: records,
                            skipped: skipped,
                            checkpoint: batch.checkpoint,
                            maxTenantRecords: limits.maxRecords
                        )
                        batchLog.debug("batch stored", metadata: ["records": "\(records.count)", "upserted": "\(written.upserted)"])
                    }
                )
            }
            for write in writes { try await write.value }
        } catch {
            for write in writes { _ = try? await write.value }
            if let limit = error as? RecordsWriter.TenantRecordLimit {
                throw ConnectorError(
                    code: "record_limit_exceeded",
                    message: "the tenant holds its limit of \(limit.max) records (records_per_tenant); the batch was not stored",
                    retryable: false
                )
            }
            throw error
        }
        let deleted = try await writer.finish(stream: name, fullRefreshSeen: seen)
        log.info("stream finished", metadata: ["deleted": "\(deleted)"])
    }

    /// Batches read and waiting for their write behind the one being written (each at most
    /// `RestConnector.batchBytes` or a provider's page).
    static let writesAhead = 2

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
