import Foundation
import Logging

/// Takes an integration's own secrets out of text a tenant may read (a run's or a check's error):
/// each secret as it is, percent-encoded, and in base64 (standard and URL alphabets, whole or
/// inside a longer base64 text such as a Basic header, whatever its alignment there). A provider
/// that echoes the key it was sent, or a token endpoint that echoes a token, shows `[redacted]`.
struct SecretRedactor: Sendable {
    static let mask = "[redacted]"
    /// Shorter secrets are not looked for: they would blank out ordinary words.
    static let minimumLength = 6

    /// What is replaced, longest first, so that a whole form goes before a part of it.
    let needles: [String]

    init(secrets: [String]) {
        var needles: Set<String> = []
        for secret in secrets where secret.unicodeScalars.count >= Self.minimumLength {
            needles.formUnion(Self.forms(of: secret))
        }
        self.needles = needles.filter { $0.unicodeScalars.count >= Self.minimumLength / 2 }.sorted { $0.count > $1.count }
    }

    static let none = SecretRedactor(secrets: [])

    func redact(_ text: String) -> String {
        var text = text
        for needle in needles where text.contains(needle) {
            text = text.replacingOccurrences(of: needle, with: Self.mask)
        }
        return text
    }

    func redact(_ error: RunError) -> RunError {
        RunError(code: error.code, message: redact(error.message))
    }

    /// The forms a secret may take in a provider's answer.
    static func forms(of secret: String) -> [String] {
        var forms = [secret]
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: unreserved), encoded != secret {
            forms += [encoded, lowercasingEscapes(encoded)]
        }
        let bytes = Array(secret.utf8)
        let whole = Data(bytes).base64EncodedString()
        forms += [whole, whole.trimmingCharacters(in: ["="])]
        // Inside a longer base64 text the secret starts at byte 0, 1 or 2 of a 3-byte group: the
        // characters that only its own bits decide are the same whatever stands around it.
        for offset in 0..<3 {
            let encoded = Array(Data(Array(repeating: 0, count: offset) + bytes).base64EncodedString().utf8)
            let first = (8 * offset + 5) / 6
            let end = min(encoded.count, 8 * (offset + bytes.count) / 6)
            if end > first { forms.append(String(decoding: encoded[first..<end], as: UTF8.self)) }
        }
        let base64 = forms.filter { $0.contains("+") || $0.contains("/") }
        forms += base64.map { $0.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_") }
        // A body quoted as JSON text may write "/" as "\/".
        forms += forms.filter { $0.contains("/") }.map { $0.replacingOccurrences(of: "/", with: "\\/") }
        return forms
    }

    /// `%2F` as `%2f`: percent-escapes may be written in either case.
    static func lowercasingEscapes(_ encoded: String) -> String {
        var result = ""
        var hexLeft = 0
        for character in encoded {
            if hexLeft > 0 {
                result += character.lowercased()
                hexLeft -= 1
            } else {
                result.append(character)
                if character == "%" { hexLeft = 2 }
            }
        }
        return result
    }

    /// The redactor for one integration: its stored credential (an API key, or OAuth access and
    /// refresh tokens) and its provider's OAuth client secret, as stored now. A secret that cannot be
    /// read is left out (and logged): the error is then reported rather than lost.
    static func forIntegration(_ integration: Integration, store: Store, vault: CredentialVault, logger: Logger) async -> SecretRedactor {
        var secrets: [String] = []
        do {
            if let stored = try await store.storedCredential(integrationID: integration.id) {
                switch try vault.open(stored) {
                case .apiKey(let key): secrets.append(key)
                case .oauth2(let tokens): secrets += [tokens.accessToken] + (tokens.refreshToken.map { [$0] } ?? [])
                }
            }
            if let app = try await store.oauthApp(provider: integration.provider) {
                secrets.append(try vault.keyRing.openString(app.clientSecret, for: .oauthClientSecret(provider: app.provider)))
            }
        } catch {
            logger.warning("could not read the secrets to redact from errors", metadata: ["error_type": "\(type(of: error))"])
        }
        return SecretRedactor(secrets: secrets)
    }

    /// Both redactors' secrets: the credential a run started with and the one stored when it ended.
    func merging(_ other: SecretRedactor) -> SecretRedactor {
        SecretRedactor(needles: Array(Set(needles).union(other.needles)).sorted { $0.count > $1.count })
    }

    private init(needles: [String]) {
        self.needles = needles
    }
}

extension RunError {
    /// The longest message a run or a check shows.
    static let maxMessageLength = 300

    /// The one shape every run and check error is stored and answered in: a code of `[a-z0-9_.-]`
    /// (at most 64), and a message of at most `maxMessageLength` characters without control characters.
    static func bounded(code: String, message: String) -> RunError {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_.-".unicodeScalars)
        let cleanCode = String(String.UnicodeScalarView(code.unicodeScalars.filter(allowed.contains).prefix(64)))
        var text = String.UnicodeScalarView()
        for scalar in message.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: text.append(" ")
            case .format: continue  // bidi overrides and the like: invisible, and able to disguise text
            default: text.append(scalar)
            }
        }
        if text.count > maxMessageLength {
            text = String.UnicodeScalarView(text.prefix(maxMessageLength - 1))
            text.append("…")
        }
        return RunError(code: cleanCode.isEmpty ? "unknown_error" : cleanCode, message: String(text))
    }

    /// This error, bounded as above.
    var bounded: RunError { .bounded(code: code, message: message) }
}
