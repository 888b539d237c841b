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

/// The HTTP layer every connector uses: the base URL of the config (every request stays on its
/// origin), the egress policy (every request resolved, checked and pinned), auth injection and the
/// vault's refresh-once-on-401, a rate limiter shared by the connector's concurrent streams (each endpoint's
/// own budget, the provider's `RateLimit-*` headers, and `Retry-After` for the whole account), retries
/// with backoff and jitter on 429, 5xx, timeouts and connection errors, a deadline on each whole
/// request, a response size limit, and errors that name the URL path — never the credential.
public struct ProviderHTTP: Sendable {
    let base: URLComponents
    let credential: ConnectorCredential
    let keyPlacement: APIKeyPlacement
    let extraHeaders: [(String, String)]
    let limiter: RateLimiter
    let logger: Logger
    let egress: EgressClient
    public var limits: ConnectorLimits

    /// For URLs an admin configured (OAuth token endpoints): trusted, so not checked against the
    /// egress policy. Follows no redirect. Lives as long as the process, like `HTTPClient.shared`.
    public static let client = PinnedClients.unpinned

    public init(
        baseURL: String,
        credential: ConnectorCredential,
        keyPlacement: APIKeyPlacement,
        extraHeaders: [(String, String)] = [],
        limiter: RateLimiter,
        logger: Logger,
        egress: EgressPolicy = .publicOnly,
        limits: ConnectorLimits = ConnectorLimits()
    ) throws {
        guard let base = URLComponents(string: baseURL), let scheme = base.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = base.host, !host.isEmpty
        else {
            throw ConnectorError(code: "invalid_config", message: "base_url is not an absolute http or https URL", retryable: false)
        }
        if case .header(let name, _) = keyPlacement, let refusal = TenantHeaderRule.refusal(name) {
            throw ConnectorError(code: "invalid_config", message: "the API key header \(refusal)", retryable: false)
        }
        self.base = base
        self.credential = credential
        self.keyPlacement = keyPlacement
        self.extraHeaders = extraHeaders
        self.limiter = limiter
        self.logger = logger
        self.egress = EgressClient(policy: egress)
        self.limits = limits
    }

    /// GETs `url` and parses it as JSON.
    public func getJSON(_ url: String) async throws -> JSONValue {
        try Self.parse(try await get(url).body, url: url)
    }

    /// GETs `url`, with the retries and limits above; the body and headers of a 2xx answer.
    public func get(_ url: String) async throws -> HTTPPage {
        try checkOrigin(url)
        let url = withQueryKey(url)
        var attempt = 0
        var rejectedToken: String?
        var refreshed = false
        let path = Self.path(of: url)
        let maxAttempts = max(limits.maxAttempts, 1)
        while true {
            attempt += 1
            var sent = HTTPHeaders()
            sent.add(name: "Accept", value: "application/json")
            for (name, value) in extraHeaders { sent.add(name: name, value: value) }
            // The token first: a refresh is another endpoint's request, and must not hold this one's slot.
            let token = try await authorize(&sent, rejected: rejectedToken)
            let ticket = try await limiter.acquire(path: path)

            let status: UInt
            let headers: HTTPHeaders
            let body: Data
            do {
                (status, headers, body) = try await exchange(url, headers: sent, attempt: attempt)
                if let wait = limiter.finish(ticket, headers: headers, longest: limits.maxRetryAfter) {
                    logger.debug("the provider's window is spent; waiting for its reset", metadata: ["path": "\(path)", "seconds": "\(wait)"])
                }
            } catch let error as ConnectorError {
                limiter.finish(ticket, headers: nil, longest: limits.maxRetryAfter)
                throw error
            } catch let error as HTTPClientError where Self.isHeaderFault(error) {
                limiter.finish(ticket, headers: nil, longest: limits.maxRetryAfter)
                throw ConnectorError(code: "invalid_config", message: "\(path): a configured header is not valid HTTP", retryable: false)
            } catch {
                limiter.finish(ticket, headers: nil, longest: limits.maxRetryAfter)
                let timedOut = error is EgressClient.Timeout || (error as? HTTPClientError).map(Self.timeouts.contains) == true
                if attempt < maxAttempts {
                    logger.warning(
                        "request failed; retrying",
                        metadata: ["path": "\(path)", "attempt": "\(attempt)", "error_type": "\(type(of: error))"]
                    )
                    try await Task.sleep(for: backoff(attempt))
                    continue
                }
                if timedOut {
                    throw ConnectorError(code: "provider_timeout", message: Self.timeoutMessage(path, error, limits, attempt), retryable: true)
                }
                throw ConnectorError(code: "provider_unreachable", message: Self.unreachableMessage(path, error, attempt), retryable: true)
            }

            switch status {
            case 200..<300:
                return HTTPPage(body: body, headers: headers)
            case 401, 403:
                // An OAuth token may have expired early: refresh once, then give up.
                if status == 401, case .oauth2 = credential, !refreshed {
                    refreshed = true
                    rejectedToken = token
                    continue
                }
                // A revoked key, or one without the rights the stream needs: no retry mends it.
                throw ConnectorError(
                    code: ConnectorError.credentialRejected,
                    message: "\(path) answered \(status): \(Self.providerMessage(body))",
                    retryable: false
                )
            case 429:
                let wait = Self.retryAfter(headers) ?? backoff(attempt)
                guard attempt < maxAttempts, wait <= limits.maxRetryAfter else {
                    throw ConnectorError(code: "rate_limited", message: "\(path) kept answering 429 (rate limited)", retryable: true)
                }
                let count = limiter.throttled(for: wait)
                logger.info(
                    "rate limited (429); every request of the account waits",
                    metadata: ["path": "\(path)", "seconds": "\(wait.components.seconds)", "throttled_so_far": "\(count)"]
                )
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

    /// One GET through the egress policy, its body read up to the size limit, within the timeout.
    private func exchange(_ url: String, headers: HTTPHeaders, attempt: Int) async throws -> (UInt, HTTPHeaders, Data) {
        let maxBytes = limits.maxResponseBytes
        do {
            let answer = try await egress.get(url, headers: headers, attempt: attempt, timeout: limits.requestTimeout, maxBytes: maxBytes)
            return (answer.status, answer.headers, Data(answer.body.readableBytesView))
        } catch is EgressClient.TooLarge {
            throw ConnectorError(
                code: "response_too_large",
                message: "\(Self.path(of: url)) answered more than \(Self.size(maxBytes))",
                retryable: false
            )
        }
    }

    /// AsyncHTTPClient's own ways of saying the provider was too slow.
    static let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .tlsHandshakeTimeout]

    /// Which limit a timed-out request met: a silent connection and a slow connect have limits of
    /// their own (`PinnedClients`), shorter than the whole request's.
    static func timeoutMessage(_ path: String, _ error: any Error, _ limits: ConnectorLimits, _ attempts: Int) -> String {
        let timeout = error as? HTTPClientError
        if timeout == .readTimeout { return "\(path) sent nothing for \(PinnedClients.silenceLimit) s, \(attempts) times" }
        if timeout == .connectTimeout { return "\(path) could not be connected to within \(PinnedClients.connectLimit) s, \(attempts) times" }
        return "\(path) did not answer within \(limits.requestTimeout.components.seconds) s, \(attempts) times"
    }

    /// What a request that neither answered nor timed out met: a connection cut before the whole
    /// answer came is told apart from one that never opened.
    static func unreachableMessage(_ path: String, _ error: any Error, _ attempts: Int) -> String {
        let cut = (error as? HTTPClientError) == .remoteConnectionClosed || error is HTTPParserError
        if cut { return "\(path) closed the connection before its whole answer came, \(attempts) times" }
        return "\(path) could not be reached after \(attempts) attempts"
    }

    /// A header AsyncHTTPClient refuses to send (a name or value no HTTP message may carry): no
    /// retry will change it. Told apart by its short description, which carries no header.
    static func isHeaderFault(_ error: HTTPClientError) -> Bool {
        error.shortDescription.hasPrefix("Invalid header field")
    }

    /// Puts the credential on the request; returns the OAuth token used, if any.
    private func authorize(_ headers: inout HTTPHeaders, rejected: String?) async throws -> String? {
        switch credential {
        case .none:
            return nil
        case .apiKey(let key):
            switch keyPlacement {
            case .header(let name, let prefix): headers.add(name: name, value: prefix + key)
            case .basic(let username):
                headers.add(name: "Authorization", value: "Basic " + Data("\(username):\(key)".utf8).base64EncodedString())
            case .query: break  // already in the URL
            }
            return nil
        case .oauth2(let source):
            let token = try await source.accessToken(rejected: rejected)
            headers.add(name: "Authorization", value: "Bearer \(token)")
            return token
        }
    }

    /// Exponential backoff with jitter: base × 2^(attempt−1) × a random 0.5–1, at most 30 s.
    func backoff(_ attempt: Int) -> Duration {
        min(limits.retryBase * (1 << min(max(attempt - 1, 0), 10)), .seconds(30)) * Double.random(in: 0.5...1.0)
    }
}

extension ProviderHTTP {
    /// `1 MiB`, `32 MiB`, `512 KiB`: a limit as a person reads it.
    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes >> 10) KiB"
    }
}
