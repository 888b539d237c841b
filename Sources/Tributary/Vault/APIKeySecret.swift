import Crypto
import Foundation

/// A tenant API key: `trb_` and 40 random base62 characters (about 238 bits). Only its SHA-256
/// is stored; the first 12 characters are kept in clear to find the row and to show people.
struct APIKeySecret: Sendable {
    let value: String

    static let marker = "trb_"
    static let prefixLength = 12
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    static func generate() -> APIKeySecret {
        var generator = SystemRandomNumberGenerator()
        let body = (0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
        return APIKeySecret(value: marker + String(body))
    }

    var prefix: String { String(value.prefix(Self.prefixLength)) }
    var hash: Data { Self.hash(value) }

    /// Whether `token` has the shape of a key at all (so a malformed one never reaches the database).
    static func looksLikeKey(_ token: String) -> Bool {
        token.hasPrefix(marker) && token.count == marker.count + 40
            && token.dropFirst(marker.count).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}

/// Compares two secrets' digests in time that does not depend on where they differ.
func constantTimeEquals(_ lhs: Data, _ rhs: Data) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (left, right) in zip(lhs, rhs) {
        difference |= left ^ right
    }
    return difference == 0
}
