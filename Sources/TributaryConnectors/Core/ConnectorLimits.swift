/// What bounds one connector in one run, whatever its provider answers: how many pages one
/// stream may follow, how long one request may take (connecting, the head and the whole body),
/// how large an answer may be, and how often and how long a failing request is retried.
public struct ConnectorLimits: Sendable {
    /// `TRIBUTARY_MAX_PAGES_PER_STREAM`: more pages than this fails the run (`page_limit_exceeded`).
    public var maxPagesPerStream = 100_000
    /// `TRIBUTARY_PROVIDER_TIMEOUT_SECONDS`: one request, start to last byte.
    public var requestTimeout: Duration = .seconds(60)
    public var maxResponseBytes = 32 << 20
    /// Attempts of one request (429, 5xx, timeouts, connection errors are retried).
    public var maxAttempts = 5
    public var retryBase: Duration = .milliseconds(500)
    /// A `Retry-After` longer than this is not waited for: the request fails as rate limited.
    public var maxRetryAfter: Duration = .seconds(120)

    public init(
        maxPagesPerStream: Int = 100_000,
        requestTimeout: Duration = .seconds(60),
        maxResponseBytes: Int = 32 << 20,
        maxAttempts: Int = 5,
        retryBase: Duration = .milliseconds(500),
        maxRetryAfter: Duration = .seconds(120)
    ) {
        self.maxPagesPerStream = maxPagesPerStream
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxAttempts = maxAttempts
        self.retryBase = retryBase
        self.maxRetryAfter = maxRetryAfter
    }
}

/// Counts the pages one stream read follows against `ConnectorLimits.maxPagesPerStream`.
public struct PageBudget: Sendable {
    public let limit: Int
    public let stream: String
    public private(set) var used = 0

    public init(limit: Int, stream: String) {
        self.limit = limit
        self.stream = stream
    }

    /// Whether `spend()` would take a page.
    public var hasPages: Bool { used < limit }

    /// Takes one page, or fails the run once the stream has had its share.
    public mutating func spend() throws {
        guard hasPages else {
            throw ConnectorError(
                code: "page_limit_exceeded",
                message: "stream \(stream) followed more than \(limit) pages in one run (TRIBUTARY_MAX_PAGES_PER_STREAM)",
                retryable: false
            )
        }
        used += 1
    }
}
