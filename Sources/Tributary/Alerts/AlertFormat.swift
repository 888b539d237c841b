import Foundation

/// Numbers, times and HTML escaping for alert emails, the same on every machine whatever its locale.
enum AlertFormat {
    /// 12345 → "12,345"
    static func count(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// 300 → "300", 312.5 → "312.5", 1234.56 → "1,234.6" (one decimal at most).
    static func number(_ value: Double) -> String {
        guard value.isFinite, value.magnitude < 9e15 else { return value.isNaN ? "–" : (value < 0 ? "-∞" : "∞") }
        let tenths = Int64((value * 10).rounded())
        let whole = count(tenths / 10)
        let fraction = (tenths % 10).magnitude
        if fraction == 0 { return whole }
        return (tenths < 0 && tenths / 10 == 0 ? "-" : "") + whole + ".\(fraction)"
    }

    /// "2026-11-20 14:03:11 UTC"
    static func time(_ date: Date) -> String {
        let parts = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return day(date) + " \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) UTC"
    }

    /// "2026-11-20", the UTC day of `date`.
    static func day(_ date: Date) -> String {
        let parts = utcCalendar.dateComponents([.year, .month, .day], from: date)
        return "\(parts.year ?? 1970)-\(two(parts.month))-\(two(parts.day))"
    }

    /// "2026-11-20" → ("Nov", "20"); anything else → (the text, "").
    static func shortDay(_ day: String) -> (month: String, day: String) {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let parts = day.split(separator: "-")
        guard parts.count == 3, let month = Int(parts[1]), (1...12).contains(month), let date = Int(parts[2]) else { return (day, "") }
        return (months[month - 1], String(date))
    }

    /// Text safe inside HTML elements and attribute values.
    static func html(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    private static func two(_ number: Int?) -> String {
        let value = number ?? 0
        return value < 10 ? "0\(value)" : "\(value)"
    }
}
