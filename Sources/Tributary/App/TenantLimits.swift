import Configuration

/// What one tenant may hold, so that no tenant fills the disk for everyone else. Each is an
/// environment setting; each refusal names the limit.
public struct TenantLimits: Sendable {
    /// Integrations of one tenant (`TRIBUTARY_MAX_INTEGRATIONS_PER_TENANT`).
    public var maxIntegrations = 100
    /// Records stored for one tenant, tombstones included (`TRIBUTARY_MAX_RECORDS_PER_TENANT`).
    public var maxRecords = 10_000_000
    /// One record's JSON; larger records are skipped and counted (`TRIBUTARY_MAX_RECORD_BYTES`).
    public var maxRecordBytes = 1 << 20
    /// Webhook endpoints of one tenant (`TRIBUTARY_MAX_WEBHOOKS_PER_TENANT`).
    public var maxWebhooks = 20

    init(reader: ConfigReader, problems: inout [String]) {
        maxIntegrations = reader.wholeNumber("TRIBUTARY_MAX_INTEGRATIONS_PER_TENANT", 1...1_000_000, default: maxIntegrations, problems: &problems)
        maxRecords = reader.wholeNumber("TRIBUTARY_MAX_RECORDS_PER_TENANT", 1...1_000_000_000_000, default: maxRecords, problems: &problems)
        maxRecordBytes = reader.wholeNumber("TRIBUTARY_MAX_RECORD_BYTES", 1024...(64 << 20), default: maxRecordBytes, problems: &problems)
        maxWebhooks = reader.wholeNumber("TRIBUTARY_MAX_WEBHOOKS_PER_TENANT", 1...10_000, default: maxWebhooks, problems: &problems)
    }

    /// The settings a run-task child needs, as its environment.
    var childEnvironment: [String: String] {
        ["TRIBUTARY_MAX_RECORDS_PER_TENANT": String(maxRecords), "TRIBUTARY_MAX_RECORD_BYTES": String(maxRecordBytes)]
    }
}

/// A tenant reached one of its `TenantLimits`.
struct LimitExceeded: Error, Sendable, Equatable {
    /// `integrations_per_tenant`, `records_per_tenant`, `webhooks_per_tenant`.
    var limit: String
    var max: Int
}
