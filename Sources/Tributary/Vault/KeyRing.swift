import Crypto
import Foundation

/// The encryption keys of `TRIBUTARY_ENCRYPTION_KEYS` (`id1:base64,id2:base64`): the first seals,
/// all of them open, so old ciphertexts stay readable while `keys rotate` rewrites them.
public struct KeyRing: Sendable {
    public let primaryID: String
    let keys: [String: SymmetricKey]
    /// Keys the fingerprints of credentials; derived, so it never equals an encryption key.
    let fingerprintKey: SymmetricKey

    public init(parsing text: String) throws(VaultError) {
        var keys: [String: SymmetricKey] = [:]
        var order: [String] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty,
                parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            else {
                throw .badKeyRing("each key is id:base64 with an id of letters, digits, - and _")
            }
            let id = String(parts[0])
            guard let bytes = Data(base64Encoded: String(parts[1])), bytes.count == 32 else {
                throw .badKeyRing("key '\(id)' is not 32 bytes of base64 (make one with: openssl rand -base64 32)")
            }
            // 32 random bytes hold about 30 distinct values; a key with few is typed, not drawn.
            guard Set(bytes).count >= 16 else {
                throw .badKeyRing("key '\(id)' is not random (make one with: openssl rand -base64 32)")
            }
            guard keys[id] == nil else { throw .badKeyRing("key id '\(id)' appears twice") }
            keys[id] = SymmetricKey(data: bytes)
            order.append(id)
        }
        guard let primaryID = order.first, let primary = keys[primaryID] else {
            throw .badKeyRing("no key given")
        }
        self.primaryID = primaryID
        self.keys = keys
        self.fingerprintKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: primary,
            info: Data("tributary credential fingerprint".utf8),
            outputByteCount: 32
        )
    }

    public var keyIDs: Set<String> { Set(keys.keys) }

    /// Seals `plaintext` under the primary key, bound to `owner`.
    func seal(_ plaintext: Data, for owner: SecretOwner) throws -> SealedSecret {
        guard let key = keys[primaryID] else { throw VaultError.unknownKey(primaryID) }
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: owner.associatedData)
        guard let combined = box.combined else { throw VaultError.cannotOpen }
        return SealedSecret(keyID: primaryID, box: combined)
    }

    /// Opens a secret sealed for `owner`; a box copied from another owner or altered does not open.
    func open(_ sealed: SealedSecret, for owner: SecretOwner) throws(VaultError) -> Data {
        guard let key = keys[sealed.keyID] else { throw .unknownKey(sealed.keyID) }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.box)
            return try AES.GCM.open(box, using: key, authenticating: owner.associatedData)
        } catch {
            throw .cannotOpen
        }
    }

    func seal(_ text: String, for owner: SecretOwner) throws -> SealedSecret {
        try seal(Data(text.utf8), for: owner)
    }

    func openString(_ sealed: SealedSecret, for owner: SecretOwner) throws(VaultError) -> String {
        guard let text = String(data: try open(sealed, for: owner), encoding: .utf8) else { throw .cannotOpen }
        return text
    }

    /// A short keyed hash: tells credentials apart, reveals nothing of them.
    func fingerprint(_ secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: fingerprintKey)
        return "fp_" + mac.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// A secret at rest: the id of the key that sealed it and the AES-GCM box (nonce, ciphertext, tag).
struct SealedSecret: Sendable, Equatable {
    var keyID: String
    var box: Data
}

/// What a secret belongs to. It is the box's authenticated data, so a box only opens for its owner.
struct SecretOwner: Sendable {
    var purpose: String
    var tenantID: UUID?
    var ownerID: String

    /// A provider credential, bound to where it may be sent (nil: sealed before bindings existed).
    static func credential(tenantID: UUID, integrationID: UUID, binding: CredentialBinding?) -> SecretOwner {
        SecretOwner(purpose: "credential", tenantID: tenantID, ownerID: credentialOwnerID(integrationID, binding))
    }

    /// `<integration>|<length of origin>:<origin>|<placement>`, length-prefixed so that no two
    /// bindings read the same; `Store+Secrets.swift` builds the same text in SQL for `keys rotate`.
    static func credentialOwnerID(_ integrationID: UUID, _ binding: CredentialBinding?) -> String {
        guard let binding else { return integrationID.lowercased }
        return "\(integrationID.lowercased)|\(binding.origin.utf8.count):\(binding.origin)|\(binding.placement)"
    }

    static func oauthClientSecret(provider: String) -> SecretOwner {
        SecretOwner(purpose: "oauth_client_secret", tenantID: nil, ownerID: provider)
    }

    static func pkceVerifier(tenantID: UUID, integrationID: UUID) -> SecretOwner {
        SecretOwner(purpose: "pkce_verifier", tenantID: tenantID, ownerID: integrationID.lowercased)
    }

    /// The kept first answer to an idempotent POST (`id` is its row's).
    static func idempotentAnswer(tenantID: UUID?, id: UUID) -> SecretOwner {
        SecretOwner(purpose: "idempotent_answer", tenantID: tenantID, ownerID: id.lowercased)
    }

    /// A webhook endpoint's signing secret.
    static func webhookSecret(tenantID: UUID, webhookID: UUID) -> SecretOwner {
        SecretOwner(purpose: "webhook_secret", tenantID: tenantID, ownerID: webhookID.lowercased)
    }

    var associatedData: Data {
        Data("tributary/v1|\(purpose)|\(tenantID?.lowercased ?? "-")|\(ownerID)".utf8)
    }
}
