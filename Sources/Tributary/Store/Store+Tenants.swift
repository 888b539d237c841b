import Foundation
import PostgresNIO
import TributaryConnectors

extension Store {
    func createTenant(name: String, alertEmails: [String], actor: ActivityActor) async throws -> Tenant {
        try await withTransaction { connection in
            let tenant = try await connection.tenant(
                """
                INSERT INTO tenants (id, name, alert_emails) VALUES (\(UUID()), \(name), \(alertEmails))
                RETURNING \(unescaped: Self.tenantColumns)
                """
            )
            guard let tenant else { throw StoreError.failed("INSERT … RETURNING returned no row") }
            try await connection.appendActivity(
                ActivityDraft(tenantID: tenant.id, actor: actor, action: .tenantCreated, details: ["name": .string(name)])
            )
            return tenant
        }
    }

    func tenant(id: UUID) async throws -> Tenant? {
        try await withConnection { connection in
            try await connection.tenant("SELECT \(unescaped: Self.tenantColumns) FROM tenants WHERE id = \(id)")
        }
    }

    func tenants(after: TimeKeyset?, limit: Int) async throws -> Page<Tenant> {
        let rows = try await withConnection { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.tenantColumns), \(unescaped: Self.createdMicros)
                FROM tenants
                WHERE \(after == nil) OR (created_at, id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id))
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit + 1)
                """,
                as: UUID.self,
                String.self,
                [String].self,
                String.self,
                Date.self,
                Date.self,
                Int64.self
            )
        }
        return Self.page(
            rows.map { row in
                (
                    Tenant(
                        id: row.0,
                        name: row.1,
                        alertEmails: row.2,
                        status: TenantStatus(rawValue: row.3) ?? .active,
                        createdAt: row.4,
                        updatedAt: row.5
                    ), row.6, row.0
                )
            },
            limit: limit
        )
    }

    /// Changes what is given; nil when the tenant does not exist.
    func updateTenant(id: UUID, name: String?, alertEmails: [String]?, actor: ActivityActor) async throws -> Tenant? {
        try await withTransaction { connection in
            let tenant = try await connection.tenant(
                """
                UPDATE tenants
                SET name = coalesce(\(name), name),
                    alert_emails = coalesce(\(alertEmails)::text[], alert_emails),
                    updated_at = now()
                WHERE id = \(id)
                RETURNING \(unescaped: Self.tenantColumns)
                """
            )
            guard let tenant else { return nil }
            var changed: [JSONValue] = []
            if name != nil { changed.append("name") }
            if alertEmails != nil { changed.append("alert_emails") }
            try await connection.appendActivity(
                ActivityDraft(tenantID: id, actor: actor, action: .tenantUpdated, details: ["changed": .array(changed)])
            )
            return tenant
        }
    }

    /// Deletes the tenant and, through the foreign keys, everything it owns.
    func deleteTenant(id: UUID) async throws -> Bool {
        try await withTransaction { connection in
            // Runs first, in the order a batch takes its locks (run, then integration): a batch in
            // flight commits before the tenant goes, and its records go below with the rest.
            try await connection.query("SELECT 1 FROM sync_runs WHERE tenant_id = \(id) FOR UPDATE")
            // Then its integrations, as a batch locks its integration after its run.
            let integrations = try await connection.rows(
                "SELECT id FROM integrations WHERE tenant_id = \(id) FOR UPDATE",
                as: UUID.self
            )
            let deleted = try await connection.rows(
                "DELETE FROM tenants WHERE id = \(id) RETURNING id",
                as: UUID.self
            )
            // Records carry no foreign key (see migration 0003): they go here, after their tenant,
            // found by integration, the first column of their primary key (there is no index by
            // tenant: it would slow every write of the busiest table).
            if !integrations.isEmpty {
                try await connection.query("DELETE FROM records WHERE integration_id = ANY(\(integrations))")
            }
            return !deleted.isEmpty
        }
    }

    static let tenantColumns = "id, name, alert_emails, status, created_at, updated_at"
    /// created_at as exact microseconds since 1970, for keyset cursors.
    static let createdMicros = "(extract(epoch FROM created_at) * 1000000)::bigint"
    /// Turns bound microseconds back into a timestamptz with integer arithmetic, exactly.
    static let epochPlus = "(timestamptz 'epoch' + interval '1 microsecond' * "

    /// Cuts `limit + 1` fetched rows down to a page, noting where the next one starts.
    static func page<Item>(_ rows: [(Item, Int64, UUID)], limit: Int) -> Page<Item> {
        let items = rows.prefix(limit)
        let next = rows.count > limit ? items.last.map { PageKey.time(TimeKeyset(micros: $0.1, id: $0.2)) } : nil
        return Page(items: items.map(\.0), next: next)
    }
}

extension StoreConnection {
    func tenant(_ query: PostgresQuery) async throws -> Tenant? {
        try await rows(query, as: UUID.self, String.self, [String].self, String.self, Date.self, Date.self)
            .first
            .map {
                Tenant(id: $0.0, name: $0.1, alertEmails: $0.2, status: TenantStatus(rawValue: $0.3) ?? .active, createdAt: $0.4, updatedAt: $0.5)
            }
    }
}
