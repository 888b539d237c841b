import Crypto
import Foundation

/// A webhook endpoint's signing secret: `whsec_` and the base64 of 32 random bytes, the form
/// Standard Webhooks libraries take as it is. Shown to the tenant once, stored sealed by the vault.
enum WebhookSecret {
    static let prefix = "whsec_"
    /// Key lengths Standard Webhooks 1.0 allows (24–64 bytes); ours are always 32.
    static let keyLengths = 24...64

    static func generate() -> String {
        let key = SymmetricKey(size: .bits256)
        return prefix + key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The HMAC key: the base64-decoded bytes after `whsec_`, as Standard Webhooks libraries read
    /// it; nil when the string is not of that form (or its key is shorter or longer than allowed).
    static func key(of secret: String) -> SymmetricKey? {
        guard secret.hasPrefix(prefix), let bytes = Data(base64Encoded: String(secret.dropFirst(prefix.count))),
            keyLengths.contains(bytes.count)
        else { return nil }
        return SymmetricKey(data: bytes)
    }
}
