/// One window of an endpoint's allowance (`limit` requests per `length`), kept so that no window
/// of that length *at the provider* — fixed windows on its clock, whichever way they are aligned —
/// can hold more than `limit` of our requests.
///
/// A request reaches the provider somewhere between the moment it is sent and the moment its
/// answer is back. So a request occupies its slot while it is in flight and for `length` after its
/// answer came; a new one goes out only while fewer than `limit` slots are occupied. Any two
/// requests `limit` apart are then at least `length` apart at the provider, which is all a fixed
/// window of that length can check.
struct WindowBudget: Sendable {
    let length: Duration
    let limit: Int
    private(set) var inFlight = 0
    /// When each answered request's slot frees, ascending (answers are recorded in clock order).
    private var releases: [ContinuousClock.Instant] = []

    init(length: Duration, limit: Int) {
        self.length = length
        self.limit = max(limit, 1)
    }

    /// How long until one more request may go out (nil: now), after forgetting the slots freed by `now`.
    /// While every occupied slot is still in flight, a short wait: an answer will free one.
    mutating func wait(at now: ContinuousClock.Instant) -> Duration? {
        if let stale = releases.firstIndex(where: { $0 > now }) {
            releases.removeFirst(stale)
        } else {
            releases.removeAll()
        }
        let occupied = inFlight + releases.count
        guard occupied >= limit else { return nil }
        // The slots to free before one more fits; in-flight ones free only once answered.
        let needed = occupied - limit + 1
        guard needed <= releases.count else { return Self.inFlightPoll }
        return releases[needed - 1] - now
    }

    mutating func take() { inFlight += 1 }

    /// The request's answer came back (or it failed) at `now`: its slot frees `length` later.
    mutating func finish(at now: ContinuousClock.Instant) {
        inFlight = max(inFlight - 1, 0)
        releases.append(now + length)
    }

    static let inFlightPoll = Duration.milliseconds(5)
}

/// One endpoint's budget: its windows, and the pause its own `RateLimit-*` headers asked for.
struct EndpointBudget: Sendable {
    var windows: [WindowBudget]
    var blockedUntil: ContinuousClock.Instant?
    var inFlight = 0

    init(_ limit: RateLimit) {
        windows = limit.windows.map { WindowBudget(length: $0.length, limit: $0.limit) }
    }

    /// Nil when a request may go out now; otherwise how long to wait before asking again.
    mutating func wait(at now: ContinuousClock.Instant) -> Duration? {
        if let blockedUntil, blockedUntil > now { return blockedUntil - now }
        var longest: Duration?
        for index in windows.indices {
            if let wait = windows[index].wait(at: now) { longest = max(longest ?? wait, wait) }
        }
        return longest
    }

    mutating func take() {
        inFlight += 1
        for index in windows.indices { windows[index].take() }
    }

    mutating func finish(at now: ContinuousClock.Instant) {
        inFlight = max(inFlight - 1, 0)
        for index in windows.indices { windows[index].finish(at: now) }
    }
}
