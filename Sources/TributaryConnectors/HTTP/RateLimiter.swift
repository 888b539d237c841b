/// A token bucket: `burst` requests at once, refilled at `perSecond`; and a pause that a
/// provider's `Retry-After` imposes on every request of the credential.
public actor RateLimiter {
    let burst: Double
    let perSecond: Double
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant
    private var pausedUntil: ContinuousClock.Instant?

    public init(burst: Int, perSecond: Double) {
        self.burst = Double(burst)
        self.perSecond = perSecond
        self.tokens = Double(burst)
        self.refilledAt = .now
    }

    /// Waits until a request may go out, then takes its token.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            if let pausedUntil, pausedUntil > now {
                try await Task.sleep(until: pausedUntil)
                continue
            }
            let elapsed = now - refilledAt
            tokens = min(burst, tokens + perSecond * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            refilledAt = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            try await Task.sleep(for: .milliseconds(Int((1 - tokens) / perSecond * 1000) + 1))
        }
    }

    /// Holds every request back for `duration` (a 429's Retry-After).
    public func pause(for duration: Duration) {
        let until = ContinuousClock.now + duration
        if pausedUntil.map({ $0 < until }) ?? true { pausedUntil = until }
    }
}
