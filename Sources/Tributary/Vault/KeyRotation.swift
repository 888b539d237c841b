import Foundation
import Logging

/// `tributary keys rotate`: re-seals every secret under the primary key, a batch at a time.
/// Each row is rewritten only if it still holds what was read, so the command is idempotent,
/// safe beside running servers, and safe to interrupt and run again.
struct KeyRotation: Sendable {
    let store: Store
    let keyRing: KeyRing
    let logger: Logger
    var batchSize = 100

    struct Summary: Sendable, Equatable {
        var rewritten = 0
        /// Rows whose box would not open (altered, or copied from another owner): left as they are.
        var unreadable = 0
    }

    func run() async throws -> Summary {
        var summary = Summary()
        for column in SecretColumn.all {
            var skipped = Set<String>()
            while true {
                let batch = try await store.secrets(in: column, notSealedWith: keyRing.primaryID, limit: batchSize + skipped.count)
                    .filter { !skipped.contains($0.id) }
                if batch.isEmpty { break }
                for row in batch {
                    guard let owner = row.owner, let plaintext = try? keyRing.open(row.sealed, for: owner) else {
                        logger.error("secret does not decrypt; left unrotated", metadata: ["table": "\(column.table)"])
                        skipped.insert(row.id)
                        summary.unreadable += 1
                        continue
                    }
                    let resealed = try keyRing.seal(plaintext, for: owner)
                    if try await store.replaceSecret(in: column, id: row.id, old: row.sealed, new: resealed) {
                        summary.rewritten += 1
                    }
                }
            }
            logger.info("rotated", metadata: ["table": "\(column.table)", "rewritten": "\(summary.rewritten)"])
        }
        return summary
    }
}

/// Refuses to start when stored secrets name keys the ring lacks: better a clear stop than
/// syncs failing one by one.
func checkStoredKeys(store: Store, keyRing: KeyRing) async throws {
    let missing = try await store.storedKeyIDs().subtracting(keyRing.keyIDs)
    if !missing.isEmpty {
        throw VaultError.missingKeys(missing.sorted())
    }
}
