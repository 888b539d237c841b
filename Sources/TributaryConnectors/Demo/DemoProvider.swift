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
            StreamDescriptor(name: "lists", syncMode: .fullRefresh, primaryKey: ["id"], cursorField: nil),
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
                "contacts_pool": [
                    "type": "integer", "minimum": 1, "maximum": 100_000_000, "default": 1_000_000,
                    "description": "How many distinct contacts exist; later runs change contacts already seen.",
                ],
                "batch_size": [
                    "type": "integer", "minimum": 1, "maximum": 50_000, "default": 5000,
                    "description": "Records per batch (and per checkpoint).",
                ],
                "spike_run": [
                    "type": "integer", "minimum": 1,
                    "description": "The run (1 is the first) whose volume spike_multiplier multiplies, once.",
                ],
                "spike_multiplier": [
                    "type": "integer", "minimum": 1, "maximum": 1000, "default": 1,
                    "description": "Multiplies the volume of spike_run, to try data-spike alerts.",
                ],
                "batch_delay_ms": [
                    "type": "integer", "minimum": 0, "maximum": 60_000, "default": 0,
                    "description": "Waits this long before each batch: a slow source, to try cancellation and crashes.",
                ],
                "fail_on_run": [
                    "type": "integer", "minimum": 1,
                    "description": "Makes that run fail after its first batch, without retry, to try failure handling and alerts.",
                ],
                "lists_count": [
                    "type": "integer", "minimum": 0, "maximum": 100_000, "default": 10,
                    "description": "How many lists exist; lower it and the next run marks the missing ones deleted.",
                ],
                "seed": [
                    "type": "integer", "default": 1,
                    "description": "Seed of the generator; the same seed yields the same records.",
                ],
            ],
        ]
    )
}
