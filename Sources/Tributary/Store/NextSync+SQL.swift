import Foundation

extension NextSync {
    /// The value `next_sync_at` takes for this plan, as a constant SQL expression over the
    /// integration's own row (the plan comes from `IntegrationStatus+Transitions.swift`).
    var sql: String {
        switch self {
        case .keep: "next_sync_at"
        case .clear: "NULL"
        case .now: "now()"
        case .afterInterval: "now() + interval '1 minute' * sync_frequency_minutes"
        }
    }
}

/// What the rules of an integration's status are judged on, read with its row locked.
struct LockedIntegration: Sendable {
    var status: IntegrationStatus
    var consecutiveFailures: Int
    /// Set while the volume of its next successful run is not comparable (`VolumeRules`).
    var volumeGap: Bool
}

extension StoreConnection {
    /// The integration's status and failure streak, its row locked until the transaction ends:
    /// status changes are judged against this, so two changes cannot both pass on a stale read.
    func lockIntegration(tenantID: UUID? = nil, id: UUID) async throws -> LockedIntegration? {
        try await rows(
            """
            SELECT status, consecutive_failures, volume_gap FROM integrations
            WHERE id = \(id) AND (\(tenantID)::uuid IS NULL OR tenant_id = \(tenantID))
            FOR UPDATE
            """,
            as: String.self,
            Int.self,
            Bool.self
        ).first.map { LockedIntegration(status: IntegrationStatus(rawValue: $0.0) ?? .failing, consecutiveFailures: $0.1, volumeGap: $0.2) }
    }

    /// Moves the integration to `status`, scheduling its next run as `next` says.
    func setStatus(integrationID: UUID, _ status: IntegrationStatus, next: NextSync) async throws {
        try await query(
            """
            UPDATE integrations SET status = \(status.rawValue), next_sync_at = \(unescaped: next.sql),
                volume_gap = volume_gap OR \(status.breaksVolumeWindow), updated_at = now()
            WHERE id = \(integrationID)
            """
        )
    }
}
