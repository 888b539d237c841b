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
}
