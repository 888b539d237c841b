import Foundation
import PostgresNIO

/// Every table column that holds a sealed secret, and how its owner is named, so the key check
/// and `keys rotate` cover them all from one list.
struct SecretColumn: Sendable {
    var table: String
    var keyColumn: String
    var secretColumn: String
    /// Selects (row id as text, tenant id or null, owner id as text).
    var ownerColumns: String
    /// The row's id as text, matching the first of `ownerColumns`.
    var idColumn: String
    var owner: @Sendable (_ tenantID: UUID?, _ ownerID: String) -> SecretOwner?

    static let all: [SecretColumn] = [
        SecretColumn(
            table: "credentials",
            keyColumn: "key_id",
            secretColumn: "secret",
            // The owner id as SecretOwner.credentialOwnerID writes it, binding included.
            ownerColumns: """
                integration_id::text, tenant_id, CASE WHEN bound_origin IS NULL OR bound_auth IS NULL THEN integration_id::text
                ELSE integration_id::text || '|' || octet_length(bound_origin) || ':' || bound_origin || '|' || bound_auth END
                """,
            idColumn: "integration_id::text",
            owner: { tenant, ownerID in
                guard let tenant, UUID(uuidString: String(ownerID.prefix(36))) != nil else { return nil }
                return SecretOwner(purpose: "credential", tenantID: tenant, ownerID: ownerID)
            }
        ),
        SecretColumn(
            table: "oauth_apps",
            keyColumn: "key_id",
            secretColumn: "client_secret",
            ownerColumns: "provider, NULL::uuid, provider",
            idColumn: "provider",
            owner: { _, provider in .oauthClientSecret(provider: provider) }
        ),
        SecretColumn(
            table: "oauth_states",
            keyColumn: "key_id",
            secretColumn: "code_verifier",
            ownerColumns: "encode(state_hash, 'hex'), tenant_id, integration_id::text",
            idColumn: "encode(state_hash, 'hex')",
            owner: integrationOwned(SecretOwner.pkceVerifier)
        ),
        SecretColumn(
            table: "idempotency_keys",
            keyColumn: "key_id",
            secretColumn: "response_body",
            ownerColumns: "id::text, tenant_id, id::text",
            idColumn: "id::text",
            owner: { tenant, id in UUID(uuidString: id).map { .idempotentAnswer(tenantID: tenant, id: $0) } }
        ),
        SecretColumn(
            table: "webhooks",
            keyColumn: "key_id",
            secretColumn: "secret",
            ownerColumns: "id::text, tenant_id, id::text",
            idColumn: "id::text",
            owner: integrationOwned(SecretOwner.webhookSecret)
        ),
    ]

    /// The owner of a secret named by its tenant and one id (an integration's, a webhook's), or nothing.
    private static func integrationOwned(
        _ owner: @escaping @Sendable (_ tenantID: UUID, _ integrationID: UUID) -> SecretOwner
    ) -> @Sendable (UUID?, String) -> SecretOwner? {
        { tenant, ownerID in
            guard let tenant, let integration = UUID(uuidString: ownerID) else { return nil }
            return owner(tenant, integration)
        }
    }
}

/// One sealed secret found by a rotation scan.
struct SealedRow: Sendable {
    var id: String
    var owner: SecretOwner?
    var sealed: SealedSecret
}

extension Store {
    /// Every key id some stored secret is sealed with.
    func storedKeyIDs() async throws -> Set<String> {
        try await withConnection { connection in
            var ids = Set<String>()
            for column in SecretColumn.all {
                for id in try await connection.rows(
                    """
                    SELECT DISTINCT \(unescaped: column.keyColumn) FROM \(unescaped: column.table)
                    WHERE \(unescaped: column.keyColumn) IS NOT NULL
                    """,
                    as: String.self
                ) {
                    ids.insert(id)
                }
            }
            return ids
        }
    }

    /// Up to `limit` secrets of `column` not sealed with `keyID`.
    func secrets(in column: SecretColumn, notSealedWith keyID: String, limit: Int) async throws -> [SealedRow] {
        try await withConnection { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: column.ownerColumns), \(unescaped: column.keyColumn), \(unescaped: column.secretColumn)
                FROM \(unescaped: column.table)
                WHERE \(unescaped: column.keyColumn) <> \(keyID)
                LIMIT \(limit)
                """,
                as: String.self,
                UUID?.self,
                String.self,
                String.self,
                Data.self
            ).map { row in
                SealedRow(id: row.0, owner: column.owner(row.1, row.2), sealed: SealedSecret(keyID: row.3, box: row.4))
            }
        }
    }

    /// Replaces one secret, only if it still holds what the scan read (a concurrent writer wins).
    func replaceSecret(in column: SecretColumn, id: String, old: SealedSecret, new: SealedSecret) async throws -> Bool {
        try await withTransaction { connection in
            !(try await connection.rows(
                """
                UPDATE \(unescaped: column.table)
                SET \(unescaped: column.keyColumn) = \(new.keyID), \(unescaped: column.secretColumn) = \(new.box)
                WHERE \(unescaped: column.idColumn) = \(id) AND \(unescaped: column.keyColumn) = \(old.keyID)
                  AND \(unescaped: column.secretColumn) = \(old.box)
                RETURNING 1
                """,
                as: Int.self
            ).isEmpty)
        }
    }
}
