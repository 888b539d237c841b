import Foundation
import PostgresNIO
import TributaryConnectors

/// What authentication needs to know of a key, found by its prefix.
struct StoredKey: Sendable {
    var id: UUID
    var tenantID: UUID
    var keyHash: Data
    var isRevoked: Bool
    var lastUsedAt: Date?
}

extension Store {
    func createAPIKey(tenantID: UUID, name: String, prefix: String, keyHash: Data, actor: ActivityActor) async throws -> APIKey {
        try await withTransaction { connection in
            let rows = try await connection.rows(
                """
                INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash)
                VALUES (\(UUID()), \(tenantID), \(name), \(prefix), \(keyHash))
                RETURNING \(unescaped: Self.keyColumns)
                """,
                as: UUID.self,
                UUID.self,
                String.self,
                String.self,
                Date.self,
                Date?.self
            )
            guard let key = rows.first.map(APIKey.init) else { throw StoreError.failed("INSERT … RETURNING returned no row") }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .apiKeyCreated,
                    details: ["key_id": .string(key.id.lowercased), "name": .string(name), "prefix": .string(prefix)]
                )
            )
            return key
        }
    }

    func apiKeys(tenantID: UUID, after: TimeKeyset?, limit: Int) async throws -> Page<APIKey> {
        let rows = try await withConnection { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.keyColumns), \(unescaped: Self.createdMicros)
                FROM api_keys
                WHERE tenant_id = \(tenantID) AND revoked_at IS NULL
                  AND (\(after == nil) OR (created_at, id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit + 1)
                """,
                as: UUID.self,
                UUID.self,
                String.self,
                String.self,
                Date.self,
                Date?.self,
                Int64.self
            )
        }
        return Self.page(
            rows.map { row in (APIKey(id: row.0, tenantID: row.1, name: row.2, prefix: row.3, createdAt: row.4, lastUsedAt: row.5), row.6, row.0) },
            limit: limit
        )
    }

    /// Revokes an active key of the tenant; false when there is none by that id.
    func revokeAPIKey(tenantID: UUID, keyID: UUID, actor: ActivityActor) async throws -> Bool {
        try await withTransaction { connection in
            let revoked = try await connection.rows(
                """
                UPDATE api_keys SET revoked_at = now()
                WHERE id = \(keyID) AND tenant_id = \(tenantID) AND revoked_at IS NULL
                RETURNING prefix
                """,
                as: String.self
            )
            guard let prefix = revoked.first else { return false }
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: tenantID,
                    actor: actor,
                    action: .apiKeyRevoked,
                    details: ["key_id": .string(keyID.lowercased), "prefix": .string(prefix)]
                )
            )
            return true
        }
    }

    func storedKey(prefix: String) async throws -> StoredKey? {
        try await withConnection { connection in
            try await connection.rows(KeyByPrefixStatement(prefix: prefix)).first
        }
    }

    /// Notes that the key was used; at most once a minute per key, so reads stay reads.
    func touchAPIKey(id: UUID) async throws {
        try await withConnection { connection in
            _ = try await connection.query(
                """
                UPDATE api_keys SET last_used_at = now()
                WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                """
            )
        }
    }

    static let keyColumns = "id, tenant_id, name, prefix, created_at, last_used_at"
}
