import Foundation

/// Timestamps as providers write them: RFC 3339 with or without fractions, and offsets with or
/// without a colon (Keap's `2024-11-07T20:35:13.000+0000`). Format styles are values: made once,
/// shared by every thread, and far cheaper than a formatter per call.
public enum Timestamps {
    static let plain = Date.ISO8601FormatStyle()
    static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func parse(_ text: String) -> Date? {
        var text = text
        // "+0000" → "+00:00".
        if text.count > 5 {
            let tail = text.suffix(5)
            if let sign = tail.first, sign == "+" || sign == "-", tail.dropFirst().allSatisfy(\.isNumber) {
                text = String(text.dropLast(2)) + ":" + String(text.suffix(2))
            }
        }
        return (try? plain.parse(text)) ?? (try? fractional.parse(text))
    }

    /// `2024-11-07T20:35:13Z`.
    public static func format(_ date: Date) -> String {
        plain.format(date)
    }

    /// `2024-11-07T20:35:13.120Z`: for cursors that must not lose the milliseconds.
    public static func formatMilliseconds(_ date: Date) -> String {
        fractional.format(date)
    }

    /// `2024-11-07` in UTC.
    public static func day(_ date: Date) -> String {
        String(format(date).prefix(10))
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`): for writers that format too many timestamps to afford a formatter each.
    public static func civil(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
