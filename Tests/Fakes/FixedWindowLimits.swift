import Foundation
import Hummingbird
import Synchronization

/// A provider's rate limits as Klaviyo enforces them, for the fakes: fixed windows on the clock
/// (each second, each minute, …) per endpoint; a request beyond any window's limit answers 429
/// with `Retry-After` (whole seconds until that window ends) and is not counted; every other
/// answer carries the longest window's `RateLimit-Limit`/`-Remaining`/`-Reset` (Klaviyo's form,
/// which describes its steady window) or the same as `X-RateLimit-*`.
public final class FixedWindowLimits: Sendable {
    /// `limit` requests per `seconds`, windows starting at multiples of `seconds` since the epoch.
    public struct Window: Sendable, Hashable {
        public var seconds: Int
        public var limit: Int

        public init(seconds: Int, limit: Int) {
            self.seconds = max(seconds, 1)
            self.limit = limit
        }
    }

    public enum HeaderStyle: Sendable {
        case rateLimit, xRateLimit, none
    }

    /// What the fake saw: every request's path and arrival time, and the 429s it answered.
    public struct Stats: Sendable {
        public var requests = 0
        public var throttled = 0
        public var arrivals: [(path: String, at: Date)] = []
    }

    private struct Count: Sendable {
        var window: Int
        var used: Int
    }

    /// The endpoint a path belongs to and its windows; nil: not limited.
    let tier: @Sendable (_ path: String) -> (key: String, windows: [Window])?
    let style: HeaderStyle
    private let state = Mutex((counts: [String: Count](), stats: Stats()))

    public init(style: HeaderStyle = .rateLimit, tier: @escaping @Sendable (_ path: String) -> (key: String, windows: [Window])?) {
        self.tier = tier
        self.style = style
    }

    /// The same windows for every path (one budget for the whole API).
    public convenience init(style: HeaderStyle = .rateLimit, _ windows: [Window]) {
        self.init(style: style) { _ in ("*", windows) }
    }

    public var stats: Stats { state.withLock { $0.stats } }

    /// Admits or refuses one request to `path` arriving `now`: the headers to answer with, or a 429.
    public func admit(path: String, now: Date = Date()) -> (headers: [(String, String)], retryAfter: Int?) {
        state.withLock { state in
            state.stats.requests += 1
            state.stats.arrivals.append((path, now))
            guard let (key, windows) = tier(path), !windows.isEmpty else { return ([], nil) }
            let epoch = now.timeIntervalSince1970
            var counts: [Int] = []
            for window in windows {
                let index = Int(epoch / Double(window.seconds))
                let slot = "\(key)#\(window.seconds)"
                let used = state.counts[slot].map { $0.window == index ? $0.used : 0 } ?? 0
                if used >= window.limit {
                    state.stats.throttled += 1
                    let end = Double((index + 1) * window.seconds)
                    return ([], max(Int((end - epoch).rounded(.up)), 1))
                }
                counts.append(used)
            }
            for (window, used) in zip(windows, counts) {
                state.counts["\(key)#\(window.seconds)"] = Count(window: Int(epoch / Double(window.seconds)), used: used + 1)
            }
            guard let steady = windows.max(by: { $0.seconds < $1.seconds }),
                let used = zip(windows, counts).first(where: { $0.0 == steady })?.1
            else { return ([], nil) }
            let end = Double((Int(epoch / Double(steady.seconds)) + 1) * steady.seconds)
            let values = [String(steady.limit), String(max(steady.limit - used - 1, 0)), String(max(Int((end - epoch).rounded(.up)), 1))]
            switch style {
            case .rateLimit: return (zip(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"], values).map { ($0, $1) }, nil)
            case .xRateLimit: return (zip(["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"], values).map { ($0, $1) }, nil)
            case .none: return ([], nil)
            }
        }
    }

    /// The most requests that arrived within any `seconds` (a sliding window, stricter than a fixed one).
    public func busiest(seconds: Double) -> Int {
        let times = stats.arrivals.map(\.at).sorted()
        var best = 0
        var start = 0
        for end in times.indices {
            while times[end].timeIntervalSince(times[start]) >= seconds { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }

    /// The limits in front of a router's routes (add it before them): a 429 with a JSON:API body,
    /// as Klaviyo answers, or the route's answer with the headers.
    public struct Middleware<Context: RequestContext>: RouterMiddleware {
        let limits: FixedWindowLimits

        public init(_ limits: FixedWindowLimits) {
            self.limits = limits
        }

        public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let (headers, retryAfter) = limits.admit(path: request.uri.path)
            if let retryAfter {
                let body =
                    #"{"errors":[{"status":429,"code":"throttled","title":"Request was throttled.","#
                    + #""detail":"Request was throttled. Expected available in \#(retryAfter) seconds."}]}"#
                let fields: HTTPFields = [.contentType: "application/vnd.api+json", .retryAfter: String(retryAfter)]
                return Response(status: .tooManyRequests, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            var response = try await next(request, context)
            for (name, value) in headers {
                if let field = HTTPFields.Element.Name(name) { response.headers[field] = value }
            }
            return response
        }
    }
}

extension FixedWindowLimits {
    /// Klaviyo's tiers per account, in fixed 1 s and 60 s windows, as its API reference lists them
    /// per endpoint: XL on events, L on profiles, lists, segments and the profiles of a list or
    /// segment, S on flows and their children, M on the rest.
    public static func klaviyo(style: HeaderStyle = .rateLimit) -> FixedWindowLimits {
        func tier(_ burst: Int, _ steady: Int) -> [Window] { [Window(seconds: 1, limit: burst), Window(seconds: 60, limit: steady)] }
        let xl = tier(350, 3500)
        let l = tier(75, 700)
        let m = tier(10, 150)
        let s = tier(3, 60)
        return FixedWindowLimits(style: style) { path in
            var parts = path.split(separator: "/").map(String.init)
            guard parts.first == "api", parts.count >= 2 else { return nil }
            parts.removeFirst()
            if parts.count >= 2 { parts[1] = "{id}" }
            let key = parts.joined(separator: "/")
            switch key {
            case "events": return (key, xl)
            case "profiles", "lists", "segments", "lists/{id}/profiles", "segments/{id}/profiles": return (key, l)
            case "flows", "flows/{id}/flow-actions", "flow-actions/{id}/flow-messages": return (key, s)
            default: return (key, m)
            }
        }
    }
}
