import Foundation
import TributaryConnectors

/// Where and as whom alert emails are sent: TRIBUTARY_SMTP_URL and TRIBUTARY_SMTP_FROM.
struct SMTPSettings: Sendable, Equatable, CustomStringConvertible {
    /// `smtp` (STARTTLS when credentials are given) or `smtps` (TLS from the first byte).
    enum Security: String, Sendable, Equatable {
        case smtp
        case smtps
    }

    var security: Security
    var host: String
    var port: Int
    /// Percent-decoded, empty when the URL has none.
    var username: String
    var password: String
    /// The bare address (`alerts@example.com`).
    var from: String
    /// PEM file of the CA(s) to trust for the server's certificate instead of the system's; for a
    /// relay with a private CA (and the tests' STARTTLS sink).
    var caFile: String?

    /// `smtp://[user:pass@]host[:port]` (STARTTLS required whenever credentials are given) or
    /// `smtps://…` (implicit TLS). Throws a message naming what is wrong (never echoing the password).
    init(url: String, from: String, caFile: String? = nil) throws(SMTPSettingsError) {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL is not a URL (expected smtp://[user:pass@]host[:port] or smtps://…)")
        }
        guard let security = Security(rawValue: scheme) else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL must start with smtp:// or smtps://, not \(Self.clean(scheme))://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL names no host")
        }
        guard Self.isPlainHost(host) else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL has a host with characters a host name cannot have")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL must be only scheme, credentials, host and port (no path, query or fragment)")
        }
        let port = components.port ?? (security == .smtps ? 465 : 25)
        guard (1...65_535).contains(port) else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL has port \(port), outside 1–65535")
        }
        let username = components.user ?? ""
        let password = components.password ?? ""
        guard username.isEmpty == password.isEmpty else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_URL must give both a user name and a password, or neither")
        }
        let address = from.trimmingCharacters(in: .whitespaces)
        guard EmailAddress.isValid(address) else {
            throw SMTPSettingsError(message: "TRIBUTARY_SMTP_FROM must be a bare email address like alerts@example.com")
        }
        self.security = security
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.from = address
        self.caFile = caFile
    }

    var hasCredentials: Bool { !username.isEmpty }

    /// The URL libcurl connects to: no credentials in it (they go through CURLOPT_USERNAME/PASSWORD).
    var connectURL: String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(security.rawValue)://\(bracketed):\(port)"
    }

    /// The URL with the password replaced by "***".
    var description: String {
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let user = hasCredentials ? "\(username.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? "user"):***@" : ""
        return "\(security.rawValue)://\(user)\(bracketed):\(port)"
    }

    /// The domain of `from`, for Message-IDs.
    var domain: String {
        from.split(separator: "@").last.map(String.init) ?? "localhost"
    }

    /// A scheme echoed into a message: printable ASCII only, and short.
    private static func clean(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.isASCII && $0.value > 32 && $0.value < 127 }.prefix(16).map(Character.init))
    }

    private static func isPlainHost(_ host: String) -> Bool {
        host.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-._:[]".unicodeScalars.contains(scalar))
        }
    }
}
