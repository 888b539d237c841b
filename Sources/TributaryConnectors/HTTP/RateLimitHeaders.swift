import Foundation
import NIOHTTP1

/// What a provider's answer says of its window: how many requests it still allows and how long
/// until the window resets. Read from, in this order, the IETF draft's single `RateLimit` field
/// (`limit=10, remaining=0, reset=5`, or `"default";r=0;t=5`), the `RateLimit-Remaining` /
/// `RateLimit-Reset` pair (Klaviyo's form, which describes its steady window, and the early
/// drafts' — a list such as `10, 10;w=1` counts by its first member), and `X-RateLimit-*`.
///
/// Every value is the provider's and hostile: a remaining below 0 counts as 0, one beyond 10⁹ as
/// 10⁹; a reset is seconds from now, or an epoch time in seconds or milliseconds when it is that
/// large, clamped to 0…`longest`; `inf`, `nan` and text are no value at all.
struct RateLimitHeaders: Equatable {
    var remaining: Int
    /// Nil: the answer gave no usable reset.
    var reset: Duration?

    static func read(_ headers: HTTPHeaders, longest: Duration, now: Date = Date()) -> RateLimitHeaders? {
        let pairs: [(remaining: String?, reset: String?)] = [
            structured(headers.first(name: "RateLimit")),
            (headers.first(name: "RateLimit-Remaining"), headers.first(name: "RateLimit-Reset")),
            (headers.first(name: "X-RateLimit-Remaining"), headers.first(name: "X-RateLimit-Reset")),
        ]
        for pair in pairs {
            guard let remaining = pair.remaining.flatMap(number) else { continue }
            let count = remaining < 0 ? 0 : Int(min(remaining.rounded(.down), 1e9))
            return RateLimitHeaders(remaining: count, reset: pair.reset.flatMap(number).map { seconds(reset: $0, longest: longest, now: now) })
        }
        return nil
    }

    /// The first member of a list (`10, 10;w=1`), its first parameter-less item (`10;w=1`), as a finite number.
    static func number(_ text: String) -> Double? {
        let first = text.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let item = (first.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
        guard item.utf8.count <= 32, let value = Double(item), value.isFinite else { return nil }
        return value
    }

    /// A reset as a wait: seconds from now, or an epoch time (from 10⁹ on: seconds, from 10¹² on: milliseconds).
    static func seconds(reset: Double, longest: Duration, now: Date) -> Duration {
        var seconds = reset
        if reset >= 1e12 {
            seconds = reset / 1000 - now.timeIntervalSince1970
        } else if reset >= 1e9 {
            seconds = reset - now.timeIntervalSince1970
        }
        let cap = Double(longest.components.seconds) + Double(longest.components.attoseconds) / 1e18
        let clamped = min(max(seconds, 0), min(max(cap, 0), 1e7))
        return .milliseconds(Int(clamped * 1000))
    }

    /// `remaining` and `reset` of the draft's single field: `limit=10, remaining=0, reset=5` (draft 6–7)
    /// or `"policy";r=0;t=5` (draft 8 on).
    static func structured(_ field: String?) -> (String?, String?) {
        guard let field, field.utf8.count <= 1024 else { return (nil, nil) }
        var values: [String: String] = [:]
        for part in field.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if pair.count == 2, values[pair[0]] == nil { values[pair[0]] = pair[1] }
        }
        return (values["remaining"] ?? values["r"], values["reset"] ?? values["t"])
    }
}
