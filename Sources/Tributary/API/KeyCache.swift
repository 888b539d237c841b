import Foundation
import Synchronization

/// Tenant keys this process resolved in the last `lifetime`, so that a client's burst of requests
/// costs one key lookup a second rather than one a request (`bench/api-load`).
///
/// Only keys that resolved are kept, so an unknown or revoked token always reaches the Store, and
/// an entry is used only when the whole token's digest matches. A revocation or tenant deletion
/// made through this process drops the tenant's entries at once; one made through another
/// `serve` process takes effect here within `lifetime`.
final class KeyCache: Sendable {
    struct Entry: Sendable {
        var keyID: UUID
        var tenantID: UUID
        var keyHash: Data
        var storedAt: ContinuousClock.Instant
    }

    let lifetime: Duration
    /// At most this many entries: a full cache is emptied rather than grown.
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: Duration = .seconds(1), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The key stored under `prefix` if it is fresh and its digest is `hash`.
    func key(prefix: String, hash: Data) -> Entry? {
        let now = ContinuousClock.now
        return entries.withLock { entries -> Entry? in
            guard let entry = entries[prefix] else { return nil }
            guard now - entry.storedAt < lifetime else {
                entries[prefix] = nil
                return nil
            }
            return constantTimeEquals(entry.keyHash, hash) ? entry : nil
        }
    }

    func store(prefix: String, keyID: UUID, tenantID: UUID, hash: Data) {
        let now = ContinuousClock.now
        entries.withLock { entries in
            if entries[prefix] == nil, entries.count >= capacity {
                entries = entries.filter { now - $0.value.storedAt < lifetime }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[prefix] = Entry(keyID: keyID, tenantID: tenantID, keyHash: hash, storedAt: now)
        }
    }

    var count: Int { entries.withLock { $0.count } }

    /// Drops every key of the tenant: after a revocation or the tenant's deletion.
    func drop(tenantID: UUID) {
        entries.withLock { entries in
            entries = entries.filter { $0.value.tenantID != tenantID }
        }
    }
}
