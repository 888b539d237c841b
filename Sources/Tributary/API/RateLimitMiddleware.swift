import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// A token bucket per caller (each tenant key, and the admin token): `burst` requests at once,
/// refilled at `perSecond`. A tenant key can mint more keys, so all the keys of one tenant also
/// share a bucket `tenantShare` times as large: minting keys buys no more than that. Past either,
/// 429 with `Retry-After`. The buckets live in this process: several `serve` processes behind a
/// balancer each allow the rate.
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
                    "this key sent more than \(limiter.limit.perSecond) requests a second (bursts of \(limiter.limit.burst)), "
                    + "or its tenant's keys together \(RequestRateLimiter.tenantShare) times that; retry after \(seconds) s"
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
    private let buckets = NIOLockedValueBox([Owner: Bucket]())
    /// Past this many buckets, full ones (callers idle long enough) are forgotten.
    static let pruneAbove = 10_000
    /// How many keys' worth of requests all the keys of one tenant may make together.
    static let tenantShare = 5

    /// Whose requests a bucket counts: one caller's, or all of one tenant's keys'.
    private enum Owner: Hashable {
        case caller(Caller)
        case tenant(UUID)
    }

    struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    init(limit: APISettings.RateLimit) {
        self.limit = limit
    }

    /// Takes a token for `caller` (and its tenant); when there is none, the seconds until there is one.
    func take(for caller: Caller, now: ContinuousClock.Instant = .now) -> Double? {
        var owners: [(owner: Owner, scale: Double)] = [(.caller(caller), 1)]
        if case .tenantKey(_, let tenantID) = caller { owners.append((.tenant(tenantID), Double(Self.tenantShare))) }
        let burst = Double(limit.burst)
        let rate = Double(limit.perSecond)
        return buckets.withLockedValue { buckets in
            var refilled: [Bucket] = []
            var wait: Double?
            for (owner, scale) in owners {
                var bucket = buckets[owner] ?? Bucket(tokens: burst * scale, at: now)
                let elapsed = now - bucket.at
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                bucket.tokens = min(burst * scale, bucket.tokens + seconds * rate * scale)
                bucket.at = now
                if bucket.tokens < 1 { wait = max(wait ?? 0, (1 - bucket.tokens) / (rate * scale)) }
                refilled.append(bucket)
            }
            // A refused request takes no token from either bucket.
            for (index, (owner, _)) in owners.enumerated() {
                var bucket = refilled[index]
                if wait == nil { bucket.tokens -= 1 }
                buckets[owner] = bucket
            }
            if buckets.count > Self.pruneAbove { Self.prune(&buckets, now: now, burst: burst, rate: rate) }
            return wait
        }
    }

    /// A bucket idle for `burst / rate` is full again (a tenant's is as large as it is fast): forgetting it changes nothing.
    private static func prune(_ buckets: inout [Owner: Bucket], now: ContinuousClock.Instant, burst: Double, rate: Double) {
        let refill = Duration.seconds(burst / rate)
        buckets = buckets.filter { now - $0.value.at < refill }
    }
}
