import Crypto
import Foundation

/// Verifies a received delivery the way a receiver would, independently of Tributary's signer:
/// Standard Webhooks with the `standardwebhooks` package from PyPI (`scripts/test` installs it),
/// and the contract's `Tributary-Signature` recomputed here with swift-crypto.
enum StandardWebhooksCheck {
    /// What the Python library made of a delivery it could not judge (not installed, bad input):
    /// an error rather than `false`, so a broken check never passes for a rejected signature.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `Webhook(secret).verify(body, headers)`: true when it returns, false when it raises
    /// `WebhookVerificationError`.
    static func verify(_ delivery: ReceivedWebhook, secret: String) async throws -> Bool {
        let input = try JSONSerialization.data(withJSONObject: [
            "secret": secret, "headers": delivery.headers, "body": Data(delivery.body).base64EncodedString(),
        ])
        let checked = try await ChildProcess.launch("/usr/bin/env", ["python3", "-c", script], input: Array(input)).finish()
        let said = checked.output.trimmingCharacters(in: .whitespacesAndNewlines)
        switch (checked.status, said) {
        case (0, "valid"): return true
        case (1, let text) where text.hasPrefix("invalid"): return false
        default: throw Failure(description: "standardwebhooks check exited \(checked.status): \(said)")
        }
    }

    private static let script = """
        import base64, json, sys
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
        given = json.load(sys.stdin)
        try:
            Webhook(given["secret"]).verify(base64.b64decode(given["body"]), given["headers"])
        except WebhookVerificationError as error:
            print("invalid:", error)
            sys.exit(1)
        print("valid")
        """

    /// `Tributary-Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>` with the key the
    /// `whsec_` secret encodes, `t` within five minutes of now (as Standard Webhooks allows).
    static func verifyTributarySignature(_ delivery: ReceivedWebhook, secret: String, now: Date = Date()) -> Bool {
        guard let header = delivery.headers["tributary-signature"], secret.hasPrefix("whsec_"),
            let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count)))
        else { return false }
        var fields: [String: String] = [:]
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let t = fields["t"], let signed = Int64(t), abs(Double(signed) - now.timeIntervalSince1970) < 300, let v1 = fields["v1"]
        else { return false }
        let expected = HMAC<SHA256>.authenticationCode(for: Array("\(t).".utf8) + delivery.body, using: SymmetricKey(data: key))
        return Data(expected).map { String(format: "%02x", $0) }.joined() == v1
    }
}
