import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// How a provider wants its API key presented.
public enum APIKeyPlacement: Sendable {
    /// `<header>: <prefix><key>`.
    case header(String, prefix: String = "")
    /// `?<param>=<key>` on every request.
    case query(String)
    /// `Authorization: Basic base64(<username>:<key>)`.
    case basic(username: String)
}

/// A 2xx answer.
public struct HTTPPage: Sendable {
    public var body: Data
    public var headers: HTTPHeaders
}

/// The HTTP layer every connector uses: the base URL of the config, auth injection and the
/// vault's refresh-once-on-401, a per-credential rate limiter that honours `Retry-After`,
/// retries with backoff and jitter on 429, 5xx, timeouts and connection errors, a response
/// size limit, and errors that name the URL path — never the credential.
public struct ProviderHTTP: Sendable {
    let client: HTTPClient
    let base: URLComponents
    let credential: ConnectorCredential
    let keyPlacement: APIKeyPlacement
    let extraHeaders: [(String, String)]
    let limiter: RateLimiter
    let logger: Logger
    public var maxAttempts = 5
    public var retryBase: Duration = .milliseconds(500)
    public var maxRetryAfter: Duration = .seconds(120)
    public var timeout: TimeAmount = .seconds(60)
    public var maxResponseBytes = 32 << 20

    /// Follows no redirect: a provider (or anything in between) must not steer a credential to
    /// another host or to plain http. Lives as long as the process, like `HTTPClient.shared`.
    public static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
    )

    public init(
        client: HTTPClient = ProviderHTTP.client,
        baseURL: String,
        credential: ConnectorCredential,
        keyPlacement: APIKeyPlacement,
        extraHeaders: [(String, String)] = [],
        limiter: RateLimiter,
        logger: Logger
    ) throws {
        guard let base = URLComponents(string: baseURL), base.scheme != nil, base.host != nil else {
            throw ConnectorError(code: "invalid_config", message: "base_url is not an absolute URL", retryable: false)
        }
        self.client = client
        self.base = base
        self.credential = credential
        self.keyPlacement = keyPlacement
        self.extraHeaders = extraHeaders
        self.limiter = limiter
        self.logger = logger
    }

    /// `base_url` + `path` with `query`, encoded strictly (RFC 3986 unreserved characters only).
    public func url(_ path: String, query: [(String, String)] = []) -> String {
        // A configured path may carry its own query ("/items?status=open"): keep it, then add ours.
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var components = base
        components.percentEncodedPath = base.percentEncodedPath.trimmingSuffix("/") + Self.encodePath(String(parts[0]))
        let own = parts.count > 1 ? [String(parts[1])] : []
        let added = query.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }
        let all = (own + added).filter { !$0.isEmpty }
        components.percentEncodedQuery = all.isEmpty ? nil : all.joined(separator: "&")
        return components.string ?? path
    }

    /// A path as given, with anything outside RFC 3986's path characters percent-encoded.
    static func encodePath(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
    }

    /// A link the provider gave (a next page): kept on the configured host whatever host it names,
    /// so a credential never travels to a host the config did not name.
    public func follow(_ link: String) -> String {
        guard let given = URLComponents(string: link) else { return link }
        var components = base
        components.percentEncodedPath = given.percentEncodedPath
        components.percentEncodedQuery = given.percentEncodedQuery
        return components.string ?? link
    }

    /// GETs `url` and parses it as JSON.
    public func getJSON(_ url: String) async throws -> JSONValue {
        try Self.parse(try await get(url).body, url: url)
    }

    static func parse(_ data: Data, url: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConnectorError(code: "malformed_response", message: "\(Self.path(of: url)) answered a body that is not valid JSON", retryable: true)
        }
    }

    /// GETs `url`, with the retries and limits above; the body and headers of a 2xx answer.
    public func get(_ url: String) async throws -> HTTPPage {
        let url = withQueryKey(url)
        var attempt = 0
        var rejectedToken: String?
        var refreshed = false
        let path = Self.path(of: url)
        while true {
            attempt += 1
            try await limiter.acquire()
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "Accept", value: "application/json")
            for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
            let token = try await authorize(&request, rejected: rejectedToken)

            let status: UInt
            let headers: HTTPHeaders
            let body: Data
            do {
                let response = try await client.execute(request, timeout: timeout)
                status = response.status.code
                headers = response.headers
                body = Data(try await response.body.collect(upTo: maxResponseBytes).readableBytesView)
            } catch is NIOTooManyBytesError {
                throw ConnectorError(
                    code: "response_too_large",
                    message: "\(path) answered more than \(maxResponseBytes >> 20) MiB",
                    retryable: false
                )
            } catch {
                if attempt < maxAttempts {
                    logger.warning(
                        "request failed; retrying",
                        metadata: ["path": "\(path)", "attempt": "\(attempt)", "error_type": "\(type(of: error))"]
                    )
                    try await Task.sleep(for: backoff(attempt))
                    continue
                }
                throw ConnectorError(code: "provider_unreachable", message: "\(path) could not be reached after \(attempt) attempts", retryable: true)
            }

            switch status {
            case 200..<300:
                return HTTPPage(body: body, headers: headers)
            case 401:
                // An OAuth token may have expired early: refresh once, then give up.
                if case .oauth2 = credential, !refreshed {
                    refreshed = true
                    rejectedToken = token
                    continue
                }
                throw ConnectorError(
                    code: "credential_rejected",
                    message: "\(path) answered 401: \(Self.providerMessage(body))",
                    retryable: false
                )
            case 429:
                let wait = Self.retryAfter(headers) ?? backoff(attempt)
                guard attempt < maxAttempts, wait <= maxRetryAfter else {
                    throw ConnectorError(code: "rate_limited", message: "\(path) kept answering 429 (rate limited)", retryable: true)
                }
                logger.info("rate limited; waiting", metadata: ["path": "\(path)", "seconds": "\(wait.components.seconds)"])
                await limiter.pause(for: wait)
                continue
            case 500..<600:
                guard attempt < maxAttempts else {
                    throw ConnectorError(code: "provider_error", message: "\(path) answered \(status) \(attempt) times", retryable: true)
                }
                logger.warning("server error; retrying", metadata: ["path": "\(path)", "status": "\(status)", "attempt": "\(attempt)"])
                try await Task.sleep(for: backoff(attempt))
                continue
            default:
                throw ConnectorError(
                    code: "provider_rejected",
                    message: "\(path) answered \(status): \(Self.providerMessage(body))",
                    retryable: false
                )
            }
        }
    }

    /// Puts the credential on the request; returns the OAuth token used, if any.
    private func authorize(_ request: inout HTTPClientRequest, rejected: String?) async throws -> String? {
        switch credential {
        case .none:
            return nil
        case .apiKey(let key):
            switch keyPlacement {
            case .header(let name, let prefix): request.headers.add(name: name, value: prefix + key)
            case .basic(let username):
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(username):\(key)".utf8).base64EncodedString())
            case .query: break  // already in the URL
            }
            return nil
        case .oauth2(let source):
            let token = try await source.accessToken(rejected: rejected)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            return token
        }
    }

    /// The URL with the API key as a query parameter, when that is where the provider wants it.
    private func withQueryKey(_ url: String) -> String {
        guard case .query(let param) = keyPlacement, case .apiKey(let key) = credential,
            var components = URLComponents(string: url)
        else { return url }
        let pair = "\(Self.encode(param))=\(Self.encode(key))"
        let existing = components.percentEncodedQuery ?? ""
        if existing.split(separator: "&").contains(where: { $0.hasPrefix("\(Self.encode(param))=") }) { return url }
        components.percentEncodedQuery = existing.isEmpty ? pair : existing + "&" + pair
        return components.string ?? url
    }

    /// Exponential backoff with jitter: base × 2^(attempt−1) × a random 0.5–1, at most 30 s.
    func backoff(_ attempt: Int) -> Duration {
        min(retryBase * (1 << min(attempt - 1, 10)), .seconds(30)) * Double.random(in: 0.5...1.0)
    }

    /// `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value) { return .milliseconds(Int(max(0, seconds) * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int(max(0, date.timeIntervalSinceNow) * 1000))
    }

    /// What the provider said went wrong: JSON:API `errors[].detail`, `message`, `error_description`, or the start of the body.
    static func providerMessage(_ body: Data) -> String {
        if let json = try? JSONDecoder().decode(JSONValue.self, from: body) {
            if case .array(let errors)? = json["errors"], let first = errors.first {
                if case .string(let detail)? = first["detail"] { return detail }
                if case .string(let title)? = first["title"] { return title }
            }
            for key in ["message", "error_description", "error", "detail"] {
                if case .string(let text)? = json[key] { return text }
            }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no details" : text
    }

    /// The path of a URL, for messages: never its query (which may carry a key) or its host.
    static func path(of url: String) -> String {
        URLComponents(string: url)?.path ?? "request"
    }

    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

extension JSONValue {
    /// The member `key` of an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The value as compact JSON text, keys sorted. Postgres's jsonb cannot hold U+0000, so a
    /// provider string carrying one gets U+FFFD in its place rather than failing the stream forever.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "null"
        guard text.contains("\\u0000") else { return text }
        return (try? String(decoding: encoder.encode(withoutNUL), as: UTF8.self)) ?? "null"
    }

    var withoutNUL: JSONValue {
        switch self {
        case .string(let text): .string(text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"))
        case .array(let items): .array(items.map(\.withoutNUL))
        case .object(let fields):
            .object(
                Dictionary(uniqueKeysWithValues: fields.map { ($0.key.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"), $0.value.withoutNUL) })
            )
        default: self
        }
    }
}
