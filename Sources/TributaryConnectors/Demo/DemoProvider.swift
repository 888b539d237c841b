/// Synthetic contacts and events, made without any network: what a newcomer runs first,
/// and the source benchmarks use.
public enum DemoProvider {
    public static let descriptor = ProviderDescriptor(
        id: "demo",
        name: "Demo (synthetic data)",
        authTypes: [.none],
        streams: [
            StreamDescriptor(name: "contacts", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated_at"),
            StreamDescriptor(name: "events", syncMode: .incremental, primaryKey: ["id"], cursorField: "occurred_at"),
        ],
        configSchema: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": [
                "records_per_run": [
                    "type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 100,
                    "description": "How many new or changed records each stream yields per run.",
                ],
                "spike_multiplier": [
                    "type": "integer", "minimum": 1, "maximum": 1000, "default": 1,
                    "description": "Multiplies the volume of the next run once, to try data-spike alerts.",
                ],
                "seed": [
                    "type": "integer", "default": 1,
                    "description": "Seed of the generator; the same seed yields the same records.",
                ],
            ],
        ]
    )
}
