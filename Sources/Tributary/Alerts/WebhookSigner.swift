import Crypto
import Foundation

/// The signature headers of one delivery, under both schemes a receiver may check: the
/// contract's `Tributary-Signature` and Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). Both use the same key — the bytes `whsec_…` encodes, not the text of the
/// secret — so one secret verifies either way.
struct WebhookSigner: Sendable {
    private let key: SymmetricKey

    /// Nil when `secret` is not a `whsec_` secret (`WebhookSecret.key(of:)`).
    init?(secret: String) {
        guard let key = WebhookSecret.key(of: secret) else { return nil }
        self.key = key
    }

    /// `Tributary-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`,
    /// `webhook-id: <eventID lowercased>`, `webhook-timestamp: <unix>`,
    /// `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`.
    /// The event id is the message id, so every retry of one event carries the same one and
    /// receivers can drop duplicates.
    func headers(eventID: UUID, timestamp: Date, body: [UInt8]) -> [(name: String, value: String)] {
        let unix = String(Self.unixSeconds(timestamp))
        let id = eventID.uuidString.lowercased()
        let contract = mac(Array("\(unix).".utf8) + body)
        let standard = mac(Array("\(id).\(unix).".utf8) + body)
        return [
            ("Tributary-Signature", "t=\(unix),v1=\(contract.map { Self.hex($0) }.joined())"),
            ("webhook-id", id),
            ("webhook-timestamp", unix),
            ("webhook-signature", "v1,\(Data(standard).base64EncodedString())"),
        ]
    }

    private func mac(_ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Whole seconds since 1970, rounded down; a date outside `Int64` (none a clock gives) is clamped.
    static func unixSeconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite else { return 0 }
        return Int64(exactly: seconds) ?? (seconds < 0 ? 0 : Int64.max)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return byte < 16 ? "0" + digits : digits
    }
}
