import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// A token bucket per caller (each tenant key, and the admin token): `burst` requests at once,
/// refilled at `perSecond`. Past it, 429 with `Retry-After`. The buckets live in this process:
/// several `serve` processes behind a balancer each allow the rate.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AuthenticatedContext

    let limiter: RequestRateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let wait = limiter.take(for: context.caller) {
            let seconds = max(1, Int(wait.rounded(.up)))
            var problem = APIError(
                status: .tooManyRequests,
                slug: "rate-limited",
                title: "Too many requests",
                detail:
                    "this key sent more than \(limiter.limit.perSecond) requests a second (bursts of \(limiter.limit.burst)); "
                    + "retry after \(seconds) s"
            )
            problem.retryAfterSeconds = seconds
            throw problem
        }
        return try await next(request, context)
    }
}

/// The buckets, shared by every request of this process.
final class RequestRateLimiter: Sendable {
    let limit: APISettings.RateLimit
    private let buckets = NIOLockedValueBox([Caller: Bucket]())
    /// Past this many callers, full buckets (callers idle long enough) are forgotten.
    static let pruneAbove = 10_000

    struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    init(limit: APISettings.RateLimit) {
        self.limit = limit
    }

    /// Takes a token for `caller`; when there is none, the seconds until there is one.
    func take(for caller: Caller, now: ContinuousClock.Instant = .now) -> Double? {
        let burst = Double(limit.burst)
        let rate = Double(limit.perSecond)
        return buckets.withLockedValue { buckets in
            var bucket = buckets[caller] ?? Bucket(tokens: burst, at: now)
            let elapsed = now - bucket.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.at = now
            defer {
                buckets[caller] = bucket
                if buckets.count > Self.pruneAbove { Self.prune(&buckets, now: now, burst: burst, rate: rate) }
            }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
    }

    private static func prune(_ buckets: inout [Caller: Bucket], now: ContinuousClock.Instant, burst: Double, rate: Double) {
        let refill = Duration.seconds(burst / rate)
        buckets = buckets.filter { now - $0.value.at < refill }
    }
}
