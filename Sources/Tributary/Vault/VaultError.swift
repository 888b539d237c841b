/// What can go wrong with secrets. No case ever carries a secret.
public enum VaultError: Error, Sendable, CustomStringConvertible {
    /// `TRIBUTARY_ENCRYPTION_KEYS` is malformed.
    case badKeyRing(String)
    /// A ciphertext names a key the ring does not hold.
    case unknownKey(String)
    /// The box was altered, or belongs to another owner.
    case cannotOpen
    /// The stored data names key ids that `TRIBUTARY_ENCRYPTION_KEYS` lacks.
    case missingKeys([String])

    public var description: String {
        switch self {
        case .badKeyRing(let reason): "TRIBUTARY_ENCRYPTION_KEYS: \(reason)"
        case .unknownKey(let id): "a secret is sealed with key '\(id)', which TRIBUTARY_ENCRYPTION_KEYS does not hold"
        case .cannotOpen: "a secret does not decrypt: it was altered or belongs to another owner"
        case .missingKeys(let ids):
            "stored secrets are sealed with key id(s) \(ids.joined(separator: ", ")) missing from TRIBUTARY_ENCRYPTION_KEYS; "
                + "add them back (after the new key) and run `tributary keys rotate`"
        }
    }
}
