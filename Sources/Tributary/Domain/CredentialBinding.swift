import Foundation
import TributaryConnectors

/// Where a credential was given to be sent: the origin (scheme, host, port) of the integration's
/// `config.base_url`, and how the config places the secret (`config.auth`). A credential is sealed
/// bound to both (they are part of its AES-GCM associated data) and is never sent anywhere else:
/// a change of either without a new credential drops the credential.
struct CredentialBinding: Sendable, Equatable {
    var origin: String
    var placement: String

    init(origin: String, placement: String) {
        self.origin = origin
        self.placement = placement
    }

    /// The binding an integration with `config` gives its credential.
    init(config: [String: JSONValue]) {
        if case .string(let text)? = config["base_url"] {
            origin = Self.origin(of: text)
        } else {
            origin = "none"
        }
        if let auth = config["auth"], let text = try? JSONColumn.text(auth) {
            placement = text
        } else {
            placement = "default"
        }
    }

    /// `https://api.example.com:443`: scheme and host lowercased, the port always written; a URL
    /// that does not parse binds to itself, so that any change to it still counts as a change.
    static func origin(of text: String) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return "unparsed:" + text }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0)
        return "\(scheme)://\(host):\(port)"
    }
}
