import Configuration

/// How the API protects itself from one caller: its request rate and the size of a records page.
public struct APISettings: Sendable {
    /// Requests per second a key (or the admin token) may make steadily, and in a burst; nil: no limit.
    public var rateLimit: RateLimit? = RateLimit(perSecond: 20, burst: 50)
    /// Bytes of record JSON one records page holds at most (it always holds one record).
    public var recordsPageBytes = 4 << 20
    /// A connection that sends no complete request part for this long is closed: an idle
    /// keep-alive, and a client trickling a request head (slowloris) alike.
    public var idleTimeoutSeconds = 30
    /// A request must arrive whole (head to the end of its body) within this many seconds of its
    /// head: the idle timer restarts with every body part, so a body trickled a byte at a time
    /// would hold the connection for ever. 60 s carries the largest body (1 MiB) at 17 KiB/s.
    public var requestTimeoutSeconds = 60

    public struct RateLimit: Sendable, Equatable {
        public var perSecond: Int
        public var burst: Int
    }

    init(reader: ConfigReader, problems: inout [String]) {
        if let text = reader.string(forKey: "tributary.api.rate.limit") {
            if text == "off" {
                rateLimit = nil
            } else if let parsed = Self.rateLimit(parsing: text) {
                rateLimit = parsed
            } else {
                problems.append("TRIBUTARY_API_RATE_LIMIT must be <per second>:<burst> (say 20:50), or off")
            }
        }
        idleTimeoutSeconds = reader.wholeNumber("TRIBUTARY_HTTP_IDLE_TIMEOUT_SECONDS", 1...3600, default: idleTimeoutSeconds, problems: &problems)
        requestTimeoutSeconds = reader.wholeNumber(
            "TRIBUTARY_HTTP_REQUEST_TIMEOUT_SECONDS",
            1...3600,
            default: requestTimeoutSeconds,
            problems: &problems
        )
        recordsPageBytes = reader.wholeNumber("TRIBUTARY_RECORDS_PAGE_BYTES", 1024...(256 << 20), default: recordsPageBytes, problems: &problems)
    }

    /// `20:50`: 20 requests a second steadily, bursts of 50.
    static func rateLimit(parsing text: String) -> RateLimit? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let perSecond = Int(parts[0]), let burst = Int(parts[1]),
            (1...1_000_000).contains(perSecond), (1...1_000_000).contains(burst)
        else { return nil }
        return RateLimit(perSecond: perSecond, burst: burst)
    }
}
