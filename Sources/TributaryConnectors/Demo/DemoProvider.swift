/// Synthetic contacts and events, made without any network: what a newcomer runs first,
/// and the source benchmarks use.
public enum DemoProvider: Provider {
    /// One run's records at most: `records_per_run × spike_multiplier`.
    public static let maxRecordsPerRun = 1_000_000

    public static let descriptor = ProviderDescriptor(
        id: "demo",
        name: "Demo (synthetic data)",
        authTypes: [.none],
        streams: [
            StreamDescriptor(name: "contacts", primaryKey: ["id"], cursorField: "updated_at"),
            StreamDescriptor(name: "events", primaryKey: ["id"], cursorField: "occurred_at"),
            StreamDescriptor(name: "lists", primaryKey: ["id"], cursorField: nil),
        ],
        configSchema: JSONSchema.document([
            "records_per_run": JSONSchema.integer(
                minimum: 0,
                maximum: maxRecordsPerRun,
                default: 100,
                "How many new or changed records each stream yields per run."
            ),
            "contacts_pool": JSONSchema.integer(
                minimum: 1,
                maximum: 100_000_000,
                default: 1_000_000,
                "How many distinct contacts exist; later runs change contacts already seen."
            ),
            "batch_size": JSONSchema.integer(minimum: 1, maximum: 50_000, default: 5000, "Records per batch (and per checkpoint)."),
            "spike_run": JSONSchema.integer(minimum: 1, "The run (1 is the first) whose volume spike_multiplier multiplies, once."),
            "spike_multiplier": JSONSchema.integer(
                minimum: 1,
                maximum: 1000,
                default: 1,
                "Multiplies the volume of spike_run, to try data-spike alerts; times records_per_run at most 1000000."
            ),
            "batch_delay_ms": JSONSchema.integer(
                minimum: 0,
                maximum: 60_000,
                default: 0,
                "Waits this long before each batch: a slow source, to try cancellation and crashes."
            ),
            "fail_on_run": JSONSchema.integer(
                minimum: 1,
                "Makes that run fail after its first batch, without retry, to try failure handling and alerts."
            ),
            "lists_count": JSONSchema.integer(
                minimum: 0,
                maximum: 100_000,
                default: 10,
                "How many lists exist; lower it and the next run marks the missing ones deleted."
            ),
            "seed": JSONSchema.integer(default: 1, "Seed of the generator; the same seed yields the same records."),
        ]).merging(["x-maximumProduct": ["properties": ["records_per_run", "spike_multiplier"], "maximum": .number(Double(maxRecordsPerRun))]])
    )

    public static func connector(context: ConnectorContext) throws -> any Connector {
        DemoConnector(context: context)
    }

    /// contacts and events are at a run and an offset into it: `{"run": 3, "offset": 0}`, or the run
    /// alone (`3`, from its start).
    public static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue {
        guard stream == "contacts" || stream == "events" else { throw .readWhole(stream) }
        let limit = 1_000_000_000
        let run: Int
        var offset = 0
        if case .object(let fields) = position {
            if let unknown = fields.keys.sorted().first(where: { $0 != "run" && $0 != "offset" }) {
                throw PositionRefused("has an unknown member \(unknown); a position is {\"run\": n, \"offset\": k}")
            }
            run = try StreamPosition.wholeNumber(fields["run"] ?? .null, minimum: 1, name: "run")
            offset =
                try fields["offset"].map { value throws(PositionRefused) in try StreamPosition.wholeNumber(value, minimum: 0, name: "offset") } ?? 0
        } else {
            run = try StreamPosition.wholeNumber(position, minimum: 1, name: "run")
        }
        guard run <= limit, offset <= limit else { throw PositionRefused("run and offset must be at most \(limit)") }
        return ["run": .number(Double(run)), "offset": .number(Double(offset))]
    }
}
