import Foundation

/// How a `rest` stream's cursor values order and how its request parameter is written: numbers
/// (epoch seconds or milliseconds, integer ids or versions) compare as numbers, exactly, at any
/// length; timestamps compare as instants; anything else as text. Values of different kinds do
/// not order, and a read keeps what it cannot order rather than lose it.
enum CursorValue {
    /// `config.streams[].cursor_format`: what the first read's start and the parameter look like.
    enum Format: String, Decodable, Sendable {
        case rfc3339
        case epochSeconds = "epoch_seconds"
        case epochMilliseconds = "epoch_milliseconds"
        /// An integer id or version: no start, the first read takes everything.
        case number
    }

    /// The first read's lower bound, `days` back, written in `format` (nil: none).
    static func start(days: Int, format: Format) -> String? {
        let date = Date(timeIntervalSinceNow: -Double(days) * 86400)
        switch format {
        case .rfc3339: return Timestamps.format(date)
        case .epochSeconds: return String(Int64(date.timeIntervalSince1970.rounded(.down)))
        case .epochMilliseconds: return String(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
        case .number: return nil
        }
    }

    /// `a` against `b`, or nil when they do not order (different kinds).
    static func compare(_ a: String, _ b: String) -> ComparisonResult? {
        switch (DecimalText(a), DecimalText(b)) {
        case let (x?, y?): return x.compare(y)
        case (nil, nil): break
        default: return nil
        }
        switch (Timestamps.parse(a), Timestamps.parse(b)) {
        case let (x?, y?): return x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        case (nil, nil): return a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
        default: return nil
        }
    }

    /// Whether a record at `value` is at or past the checkpoint `since`: kept unless provably earlier.
    static func reaches(_ value: String, _ since: String) -> Bool {
        compare(value, since) != .orderedAscending
    }

    /// The newer of the cursor so far and a record's value; a value of another kind replaces a start
    /// written in the wrong format (the first read of a numeric cursor left at `rfc3339`).
    static func newer(_ current: String?, _ value: String) -> String {
        guard let current, let order = compare(value, current) else { return value }
        return order == .orderedDescending ? value : current
    }

    /// The request parameter for checkpoint `since`: one unit below it (a second for timestamps,
    /// 1 for numbers), so that an API filtering strictly later still sends the checkpoint's own
    /// second or number again, and one filtering at-or-later costs a few re-read records.
    static func parameter(_ since: String) -> String {
        if let number = DecimalText(since) { return number.minusOne.text }
        if let date = Timestamps.parse(since) {
            let below = date.addingTimeInterval(-1)
            return since.contains(".") ? Timestamps.formatMilliseconds(below) : Timestamps.format(below.wholeSecond)
        }
        return since
    }
}

extension Date {
    fileprivate var wholeSecond: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

/// A plain decimal number as text, exactly, at any length: `-12`, `1700000000000`, `9007199254740993`,
/// `0.25` (no exponent, no hex, no `nan`: what an API writes as a cursor, not what `Double` reads).
struct DecimalText {
    var negative: Bool
    var whole: Substring  // digits without leading zeros ("" for zero)
    var fraction: Substring  // digits without trailing zeros

    init?(_ text: String) {
        var body = Substring(text)
        let minus = body.first == "-"
        if minus { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty, first.count <= 400, first.allSatisfy(\.isASCIIDigit) else { return nil }
        let rest = parts.count > 1 ? parts[1] : ""
        guard parts.count == 1 || (!rest.isEmpty && rest.count <= 400 && rest.allSatisfy(\.isASCIIDigit)) else { return nil }
        var trimmed = rest
        while trimmed.last == "0" { trimmed = trimmed.dropLast() }
        self.init(negative: minus, whole: first.drop { $0 == "0" }, fraction: trimmed)
    }

    private init(negative: Bool, whole: Substring, fraction: Substring) {
        self.negative = negative && !(whole.isEmpty && fraction.isEmpty)  // no "-0"
        self.whole = whole
        self.fraction = fraction
    }

    func compare(_ other: DecimalText) -> ComparisonResult {
        if negative != other.negative { return negative ? .orderedAscending : .orderedDescending }
        let magnitude: ComparisonResult =
            if whole.count != other.whole.count {
                whole.count < other.whole.count ? .orderedAscending : .orderedDescending
            } else if whole != other.whole {
                whole < other.whole ? .orderedAscending : .orderedDescending
            } else if fraction != other.fraction {
                fraction < other.fraction ? .orderedAscending : .orderedDescending
            } else {
                .orderedSame
            }
        return negative ? magnitude.reversed : magnitude
    }

    /// A number below this one by at most one: exactly one less, except that 0.x gives 0.
    var minusOne: DecimalText {
        if !negative, !whole.isEmpty { return DecimalText(negative: false, whole: Self.decrement(whole), fraction: fraction) }
        if !negative, !fraction.isEmpty { return DecimalText(negative: false, whole: "", fraction: "") }
        return DecimalText(negative: true, whole: Self.increment(whole), fraction: fraction)  // −x − 1, or 0 − 1
    }

    var text: String {
        (negative ? "-" : "") + (whole.isEmpty ? "0" : String(whole)) + (fraction.isEmpty ? "" : "." + fraction)
    }

    private static func increment(_ digits: Substring) -> Substring {
        var result = digits.utf8.map { Int($0) - 48 }
        var index = result.count - 1
        while index >= 0 {
            result[index] += 1
            if result[index] < 10 { return Substring(result.map(String.init).joined()) }
            result[index] = 0
            index -= 1
        }
        return Substring("1" + result.map(String.init).joined())
    }

    /// n − 1 for n ≥ 1, without leading zeros.
    private static func decrement(_ digits: Substring) -> Substring {
        var result = digits.utf8.map { Int($0) - 48 }
        var index = result.count - 1
        while index >= 0 {
            if result[index] > 0 {
                result[index] -= 1
                break
            }
            result[index] = 9
            index -= 1
        }
        return Substring(result.map(String.init).joined()).drop { $0 == "0" }
    }
}

extension ComparisonResult {
    fileprivate var reversed: ComparisonResult {
        switch self {
        case .orderedAscending: .orderedDescending
        case .orderedDescending: .orderedAscending
        case .orderedSame: .orderedSame
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
