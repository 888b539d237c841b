import Foundation

/// Building the URLs a connector requests, all on the configured origin: paths and query
/// parameters from config and code, and next-page links from the provider, re-based or refused.
extension ProviderHTTP {
    /// `base_url` + `path` with `query`. A configured path may carry its own query
    /// ("/items?status=open"): kept as written, with only what no URL may hold percent-encoded;
    /// `query` is encoded strictly (RFC 3986 unreserved characters only).
    public func url(_ path: String, query: [(String, String)] = []) -> String {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var ownPath = Self.normalize(String(parts.first ?? ""), allowed: Self.pathCharacters)
        if !ownPath.hasPrefix("/") { ownPath = "/" + ownPath }
        var components = base
        components.percentEncodedPath = base.percentEncodedPath.trimmingSuffix("/") + ownPath
        let own = parts.count > 1 ? [Self.normalize(String(parts[1]), allowed: Self.queryCharacters)] : []
        let added = query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }
        let all = (own + added).filter { !$0.isEmpty }
        components.percentEncodedQuery = all.isEmpty ? nil : all.joined(separator: "&")
        return components.string ?? ""
    }

    /// A link the provider gave (a next page), re-based onto the configured origin whatever
    /// origin it names, so a credential never travels to a host the config did not name; a
    /// relative link resolves against `current` (the page that gave it). A link that cannot be
    /// re-based — not a URL, or not http(s) — is an error, never passed on as it came.
    public func follow(_ link: String, from current: String? = nil) throws -> String {
        let refused = ConnectorError(
            code: "malformed_response",
            message: "\(current.map(Self.path) ?? "the provider") gave a next-page link that is not an http URL",
            retryable: false
        )
        guard let given = URLComponents(string: link.trimmingCharacters(in: .whitespaces)) else { throw refused }
        if let scheme = given.scheme, !["http", "https"].contains(scheme.lowercased()) { throw refused }
        let currentPath = current.flatMap { URLComponents(string: $0)?.percentEncodedPath } ?? base.percentEncodedPath
        var path = given.percentEncodedPath
        if given.scheme == nil, given.host == nil, !path.hasPrefix("/") {
            // A relative reference: the current page's directory, or (only a query) its own path.
            path = path.isEmpty ? currentPath : String(currentPath[..<(currentPath.lastIndex(of: "/") ?? currentPath.startIndex)]) + "/" + path
        }
        if !path.hasPrefix("/") { path = "/" + path }
        var components = base
        components.percentEncodedPath = path
        components.percentEncodedQuery = given.percentEncodedQuery
        guard let text = components.string else { throw refused }
        return text
    }

    /// Refuses, before anything is sent, a URL off the configured origin (scheme, host, port) — as
    /// AsyncHTTPClient will read it. `url()` and `follow()` never make one; this makes sure.
    func checkOrigin(_ url: String) throws {
        guard let target = URL(string: url), let origin = base.string.flatMap(URL.init(string:)),
            target.scheme?.lowercased() == origin.scheme?.lowercased(),
            target.host?.lowercased() == origin.host?.lowercased(),
            Self.port(of: target) == Self.port(of: origin)
        else {
            throw ConnectorError(code: "invalid_url", message: "\(Self.path(of: url)) is not on the configured base_url", retryable: false)
        }
    }

    static func port(of url: URL) -> Int? {
        url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
    }

    /// The URL with the API key as a query parameter, when that is where the provider wants it.
    func withQueryKey(_ url: String) -> String {
        guard case .query(let param) = keyPlacement, case .apiKey(let key) = credential,
            var components = URLComponents(string: url)
        else { return url }
        let pair = "\(Self.encode(param))=\(Self.encode(key))"
        let existing = components.percentEncodedQuery ?? ""
        if existing.split(separator: "&").contains(where: { $0.hasPrefix("\(Self.encode(param))=") }) { return url }
        components.percentEncodedQuery = existing.isEmpty ? pair : existing + "&" + pair
        return components.string ?? url
    }

    /// The path of a URL, for messages: never its query (which may carry a key) or its host.
    static func path(of url: String) -> String {
        URLComponents(string: url)?.path ?? "request"
    }

    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
    static let subDelimiters = Set("!$&'()*+,;=".utf8)
    static let pathCharacters = unreserved.union(subDelimiters).union(":@/".utf8)
    static let queryCharacters = pathCharacters.union("?".utf8)

    /// `text` percent-encoded strictly: every byte but the unreserved ones.
    static func encode(_ text: String) -> String {
        percentEncode(text, allowed: unreserved, keepingEscapes: false)
    }

    /// `text` as a valid URL part: `%XX` escapes and `allowed` bytes kept, every other byte
    /// (spaces, quotes, a stray `%`, non-ASCII) percent-encoded. Its result is always safe to set
    /// as a percent-encoded URL component, which traps on anything else.
    static func normalize(_ text: String, allowed: Set<UInt8>) -> String {
        percentEncode(text, allowed: allowed, keepingEscapes: true)
    }

    private static func percentEncode(_ text: String, allowed: Set<UInt8>, keepingEscapes: Bool) -> String {
        let bytes = Array(text.utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if keepingEscapes, byte == UInt8(ascii: "%"), index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) {
                output += bytes[index...(index + 2)]
                index += 3
                continue
            }
            if allowed.contains(byte) {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
