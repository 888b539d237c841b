import Foundation
import PostgresNIO

/// The first answer to an idempotent POST, as kept: its body still sealed.
struct StoredAnswer: Sendable {
    var status: Int
    var contentType: String?
    var location: String?
    var body: SealedSecret
}

/// Where an `Idempotency-Key` stands when a request arrives with it.
enum IdempotencyClaim: Sendable {
    /// The key is new (or its last use expired or was abandoned): this request runs, as `id`.
    case claimed(id: UUID)
    /// The key was used for another request.
    case mismatch
    /// The first request with the key is still running.
    case inProgress
    /// The first request finished: answer what it answered.
    case replay(id: UUID, StoredAnswer)
}

extension Store {
    /// How long a first request may hold its key before a retry takes it over (the request died).
    static let idempotencyLockSeconds = 300

    /// Claims `key` for a request with `fingerprint`, or tells what became of its first use.
    func claimIdempotencyKey(scope: String, tenantID: UUID?, key: String, fingerprint: Data) async throws -> IdempotencyClaim {
        try await withTransaction { connection in
            // A key's first answer is kept for a day; this also keeps the table pruned.
            try await connection.query(
                """
                DELETE FROM idempotency_keys
                WHERE scope = \(scope) AND created_at < now() - interval '24 hours'
                """
            )
            let id = UUID()
            let inserted = try await connection.rows(
                """
                INSERT INTO idempotency_keys (id, scope, tenant_id, key, fingerprint, locked_until)
                VALUES (\(id), \(scope), \(tenantID), \(key), \(fingerprint), now() + interval '1 second' * \(Self.idempotencyLockSeconds))
                ON CONFLICT (scope, key) DO NOTHING
                RETURNING id
                """,
                as: UUID.self
            )
            if !inserted.isEmpty { return .claimed(id: id) }
            guard
                let row = try await connection.rows(
                    """
                    SELECT id, fingerprint, status, content_type, location, key_id, response_body, locked_until > now()
                    FROM idempotency_keys WHERE scope = \(scope) AND key = \(key)
                    FOR UPDATE
                    """,
                    as: UUID.self,
                    Data.self,
                    Int?.self,
                    String?.self,
                    String?.self,
                    String?.self,
                    Data?.self,
                    Bool?.self
                ).first
            else { return .inProgress }  // deleted between the two statements: as good as running
            guard row.1 == fingerprint else { return .mismatch }
            if let status = row.2, let keyID = row.5, let body = row.6 {
                return .replay(
                    id: row.0,
                    StoredAnswer(status: status, contentType: row.3, location: row.4, body: SealedSecret(keyID: keyID, box: body))
                )
            }
            if row.7 == true { return .inProgress }
            // The first request died without an answer: this one takes the key over.
            try await connection.query(
                """
                UPDATE idempotency_keys SET locked_until = now() + interval '1 second' * \(Self.idempotencyLockSeconds)
                WHERE id = \(row.0)
                """
            )
            return .claimed(id: row.0)
        }
    }

    /// Keeps the answer of the request that claimed `id`.
    func storeIdempotentAnswer(id: UUID, _ answer: StoredAnswer) async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                UPDATE idempotency_keys SET status = \(answer.status), content_type = \(answer.contentType),
                    location = \(answer.location), key_id = \(answer.body.keyID), response_body = \(answer.body.box),
                    locked_until = NULL
                WHERE id = \(id)
                """
            )
        }
    }

    /// Gives a key back: its request failed in a way another try may not (a 5xx), so a retry runs anew.
    func releaseIdempotencyKey(id: UUID) async throws {
        try await withConnection { connection in
            try await connection.query("DELETE FROM idempotency_keys WHERE id = \(id) AND status IS NULL")
        }
    }
}
