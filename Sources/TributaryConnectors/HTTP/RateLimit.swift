/// An endpoint's published allowance: at most `perSecond` requests in any 1 s window and
/// `perMinute` in any 60 s window (nil: no limit of that length). Both nil: only the provider's
/// headers and 429s pace it.
public struct RateLimit: Sendable, Hashable {
    public var perSecond: Int?
    public var perMinute: Int?

    public init(perSecond: Int? = nil, perMinute: Int? = nil) {
        self.perSecond = perSecond
        self.perMinute = perMinute
    }

    /// No allowance of our own: the provider's `RateLimit-*` headers and 429s alone.
    public static let unlimited = RateLimit()

    /// The windows as (length, requests): the 1 s burst and the 60 s steady window.
    var windows: [(length: Duration, limit: Int)] {
        [(Duration.seconds(1), perSecond), (Duration.seconds(60), perMinute)].compactMap { window in
            window.1.map { (window.0, max($0, 1)) }
        }
    }
}

/// Which budget a request spends: each provider endpoint (a path template, ids left out) has its
/// own allowance, as Klaviyo's API reference gives one per endpoint; a provider that limits the
/// whole account names one budget for every path.
public struct RatePolicy: Sendable {
    let budget: @Sendable (_ path: String) -> (key: String, limit: RateLimit)

    public init(budget: @escaping @Sendable (_ path: String) -> (key: String, limit: RateLimit)) {
        self.budget = budget
    }

    /// One allowance shared by every path.
    public static func uniform(_ limit: RateLimit) -> RatePolicy {
        RatePolicy { _ in ("*", limit) }
    }
}
