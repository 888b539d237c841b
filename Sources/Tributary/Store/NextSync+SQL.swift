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

extension StoreConnection {
    /// The integration's status and failure streak, its row locked until the transaction ends:
    /// status changes are judged against this, so two changes cannot both pass on a stale read.
    func lockIntegration(tenantID: UUID? = nil, id: UUID) async throws -> (status: IntegrationStatus, consecutiveFailures: Int)? {
        try await rows(
            """
            SELECT status, consecutive_failures FROM integrations
            WHERE id = \(id) AND (\(tenantID)::uuid IS NULL OR tenant_id = \(tenantID))
            FOR UPDATE
            """,
            as: String.self,
            Int.self
        ).first.map { (IntegrationStatus(rawValue: $0.0) ?? .failing, $0.1) }
    }

    /// Moves the integration to `status`, scheduling its next run as `next` says.
    func setStatus(integrationID: UUID, _ status: IntegrationStatus, next: NextSync) async throws {
        try await query(
            """
            UPDATE integrations SET status = \(status.rawValue), next_sync_at = \(unescaped: next.sql), updated_at = now()
            WHERE id = \(integrationID)
            """
        )
    }
}
