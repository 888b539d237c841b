import Foundation
import NIOHTTP1
import Synchronization

/// Paces one connector's requests (one credential, one run), shared by the streams it reads at
/// once: each endpoint spends its own budget — its published limits in both fixed windows, and the
/// pause its `RateLimit-*` headers ask for once their window is spent — and a 429's `Retry-After`
/// holds back every endpoint of the account.
public final class RateLimiter: Sendable {
    /// A request that went out; give it back through `finish` once it is answered or failed.
    public struct Ticket: Sendable {
        let key: String
    }

    private struct State: Sendable {
        var budgets: [String: EndpointBudget] = [:]
        var pausedUntil: ContinuousClock.Instant?
        var throttled = 0
    }

    let policy: RatePolicy
    private let state = Mutex(State())

    public init(_ policy: RatePolicy) {
        self.policy = policy
    }

    /// Waits until a request to `path` may go out, then takes its slot.
    public func acquire(path: String) async throws -> Ticket {
        let (key, limit) = policy.budget(path)
        while true {
            let wait: Duration? = state.withLock { state in
                let now = ContinuousClock.now
                if let paused = state.pausedUntil, paused > now { return paused - now }
                var budget = state.budgets[key] ?? EndpointBudget(limit)
                defer { state.budgets[key] = budget }
                if let wait = budget.wait(at: now) { return wait }
                budget.take()
                return nil
            }
            guard let wait else { return Ticket(key: key) }
            try await Task.sleep(for: max(wait, .milliseconds(1)))
        }
    }

    /// The request of `ticket` was answered with `headers` (nil: it failed without an answer).
    /// When the provider says its window is spent — no more remaining than the endpoint's requests
    /// still in flight — the endpoint waits for the window's reset (at most `longest`; 1 s when the
    /// reset is missing or unreadable). Returns that wait, if one began.
    @discardableResult
    public func finish(_ ticket: Ticket, headers: HTTPHeaders?, longest: Duration) -> Duration? {
        let observed = headers.flatMap { RateLimitHeaders.read($0, longest: longest) }
        return state.withLock { state in
            let now = ContinuousClock.now
            guard var budget = state.budgets[ticket.key] else { return nil }
            defer { state.budgets[ticket.key] = budget }
            budget.finish(at: now)
            guard let observed, observed.remaining <= budget.inFlight else { return nil }
            let wait = min(observed.reset ?? .seconds(1), longest)
            guard wait > .zero else { return nil }
            let until = now + wait
            if budget.blockedUntil.map({ $0 < until }) ?? true { budget.blockedUntil = until }
            return wait
        }
    }

    /// A 429 (its `Retry-After`, or the backoff): every request of the account waits `duration`.
    /// Returns how many 429s this limiter has seen.
    @discardableResult
    public func throttled(for duration: Duration) -> Int {
        state.withLock { state in
            let until = ContinuousClock.now + duration
            if state.pausedUntil.map({ $0 < until }) ?? true { state.pausedUntil = until }
            state.throttled += 1
            return state.throttled
        }
    }

    /// How many requests the provider answered 429.
    public var throttledCount: Int { state.withLock { $0.throttled } }
}
