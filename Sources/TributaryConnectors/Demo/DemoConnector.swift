import Foundation

/// Reads the demo provider's synthetic streams. Deterministic: run `n` of a stream (its cursor
/// says which) yields the same records every time, so a retried run converges on the same data.
/// The cursor is `{"run": n, "offset": k}`: `k` records of run `n` are stored.
struct DemoConnector: Connector {
    let context: ConnectorContext

    var recordsPerRun: Int { context.int("records_per_run") ?? 100 }
    var pool: Int { max(1, context.int("contacts_pool") ?? 1_000_000) }
    var batchSize: Int { max(1, context.int("batch_size") ?? 5000) }
    var seed: Int { context.int("seed") ?? 1 }

    func check() async throws {}

    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        if request.stream.name == "lists" {
            // A full-refresh stream: the whole current set, every run.
            let count = context.int("lists_count") ?? 10
            for start in stride(from: 0, to: count, by: batchSize) {
                let records = (start..<min(start + batchSize, count)).map { DemoGenerator.list(index: $0, seed: seed) }
                try await emit(RecordBatch(records: records, checkpoint: nil))
            }
            return
        }
        let (run, startOffset) = Self.position(request.cursor)
        let multiplier = context.int("spike_run") == run ? (context.int("spike_multiplier") ?? 1) : 1
        // The config schema bounds the product; a config stored before that bound must not pass it either.
        let (volume, overflow) = max(recordsPerRun, 0).multipliedReportingOverflow(by: max(multiplier, 1))
        guard !overflow, volume <= DemoProvider.maxRecordsPerRun else {
            throw ConnectorError(
                code: "invalid_config",
                message: "config.spike_multiplier times records_per_run must be at most \(DemoProvider.maxRecordsPerRun)",
                retryable: false
            )
        }
        let delay = context.int("batch_delay_ms") ?? 0
        var offset = startOffset
        var batches = 0
        while offset < volume {
            if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            if context.int("fail_on_run") == run && batches == 1 {
                throw ConnectorError(code: "demo_failure", message: "the demo source fails run \(run), as configured", retryable: false)
            }
            let end = min(offset + batchSize, volume)
            var records: [SourceRecord] = []
            records.reserveCapacity(end - offset)
            for index in offset..<end {
                records.append(
                    request.stream.name == "events"
                        ? DemoGenerator.event(run: run, index: index, seed: seed)
                        : DemoGenerator.contact(run: run, index: index, pool: pool, seed: seed)
                )
            }
            let done = end == volume
            let checkpoint: JSONValue =
                done ? ["run": .number(Double(run + 1)), "offset": 0] : ["run": .number(Double(run)), "offset": .number(Double(end))]
            try await emit(RecordBatch(records: records, checkpoint: checkpoint))
            offset = end
            batches += 1
        }
        if volume == 0 || startOffset >= volume {
            try await emit(RecordBatch(records: [], checkpoint: ["run": .number(Double(run + 1)), "offset": 0]))
        }
    }

    /// Which run a cursor is at, and how far into it; no cursor is run 1 from the start.
    static func position(_ cursor: JSONValue?) -> (run: Int, offset: Int) {
        guard case .object(let fields)? = cursor, case .number(let run)? = fields["run"] else { return (1, 0) }
        let offset: Double = if case .number(let value)? = fields["offset"] { value } else { 0 }
        // A cursor is ours, but a number is clamped before it becomes an Int all the same.
        let clamp = { (value: Double) in value.isFinite ? Int(min(max(value, 0), 1e12)) : 0 }
        return (max(1, clamp(run)), clamp(offset))
    }
}
