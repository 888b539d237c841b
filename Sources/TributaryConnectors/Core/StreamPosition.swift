import Foundation

/// Why a value cannot be a stream's position: said to the caller who sent it (a 422 on `cursor`).
public struct PositionRefused: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }

    /// A stream read whole each run keeps no position to set.
    public static func readWhole(_ stream: String) -> Self {
        Self("\(stream) is read whole each run: it has no position to set")
    }

    /// A child stream keeps one position per parent, which no single value can set.
    public static func perParent(_ stream: String) -> Self {
        Self("\(stream) keeps a position per parent record; reset it instead (DELETE …/state?stream=\(stream))")
    }
}

/// The shapes a caller's position comes in, read the one way every provider reads them. A
/// position is where the next read starts: one in the future would skip what happens until then,
/// so it is refused.
public enum StreamPosition {
    /// An RFC 3339 instant (`2026-11-20T00:00:00Z`), not in the future.
    public static func instant(_ value: JSONValue, now: Date = Date()) throws(PositionRefused) -> Date {
        guard let text = value.stringValue, text.count <= 64, fieldsExist(text), let date = Timestamps.parse(text) else {
            throw PositionRefused("must be an RFC 3339 timestamp, such as 2026-11-20T00:00:00Z")
        }
        guard date <= now else { throw PositionRefused("must not be in the future") }
        return date
    }

    /// Whether the date and time a timestamp's text begins with exist: the parser would roll
    /// 2026-02-30 over to March and 00:00:60 to the next minute.
    static func fieldsExist(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(19))
        guard bytes.count == 19 else { return false }
        func number(_ range: Range<Int>) -> Int? {
            let digits = bytes[range]
            guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month)
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...lengths[month - 1]).contains(day) && hour <= 23 && minute <= 59 && second <= 59
    }

    /// A day (`2026-11-20`, UTC), not after today.
    public static func day(_ value: JSONValue, now: Date = Date()) throws(PositionRefused) -> String {
        let refused = PositionRefused("must be a date, YYYY-MM-DD, such as 2026-11-20")
        guard let text = value.stringValue, text.count == 10, let date = Timestamps.parse(text + "T00:00:00Z") else { throw refused }
        // A date the calendar rolls over (2026-02-30) is not one.
        guard Timestamps.day(date) == text else { throw refused }
        guard text <= Timestamps.day(now) else { throw PositionRefused("must not be after today (UTC)") }
        return text
    }

    /// A whole number at least `minimum`, given as a JSON number.
    public static func wholeNumber(_ value: JSONValue, minimum: Int, name: String) throws(PositionRefused) -> Int {
        guard case .number(let number) = value, let whole = Int(exactly: number), whole >= minimum else {
            throw PositionRefused("\(name) must be a whole number of at least \(minimum)")
        }
        return whole
    }

    /// The value of `key` when `value` is the stored shape `{key: …}` (what `GET …/state` shows),
    /// or `value` itself: a caller may send back what it read, or just the position.
    public static func unwrapped(_ value: JSONValue, key: String) -> JSONValue {
        if case .object(let fields) = value, fields.count == 1, let inner = fields[key] { return inner }
        return value
    }
}

extension Provider {
    /// No position can be set on this provider's streams unless it says how.
    public static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue {
        throw PositionRefused("\(descriptor.name) streams do not take a position")
    }
}
