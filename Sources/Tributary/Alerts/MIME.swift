import Foundation

/// The pieces of RFC 5322 / 2045 / 2047 that `EmailMessage.mime()` needs.
enum MIME {
    /// A header value on one line: every CR, LF and other control character becomes a space, so a
    /// tenant-chosen name can never start a header of its own.
    static func headerValue(_ value: String) -> String {
        let scalars = value.unicodeScalars.map { scalar -> Unicode.Scalar in
            scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}" ? " " : scalar
        }
        var result = String(String.UnicodeScalarView(scalars))
        while result.contains("  ") { result = result.replacingOccurrences(of: "  ", with: " ") }
        return result.trimmingCharacters(in: .whitespaces)
    }

    /// `To: a, b`, folded one address a line when that would pass 78 characters.
    static func addressList(name: String, _ addresses: [String]) -> String {
        let values = addresses.map(headerValue)
        let line = "\(name): " + values.joined(separator: ", ")
        return line.count <= 78 ? line : "\(name): " + values.joined(separator: ",\r\n ")
    }

    /// Letters and digits of `value` (for a MIME boundary derived from the Message-ID).
    static func token(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0.isASCII && CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    /// `Name: value`, as is when plain ASCII and short, otherwise as RFC 2047 `=?utf-8?B?…?=` words
    /// of at most 75 characters, folded onto continuation lines (never splitting a code point).
    static func encodedHeader(name: String, value: String) -> String {
        let plain = value.unicodeScalars.allSatisfy { $0.value >= 32 && $0.value < 127 }
        // "=?" would let a tenant's name pass for an encoded word of its own choosing: encode it too.
        if plain && !value.contains("=?") && name.count + 2 + value.count <= 78 { return "\(name): \(value)" }
        // 42 bytes make 56 base64 characters, a word of 68: "Subject: " and one word stay within 78.
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in value.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 42, !chunk.isEmpty {
                words.append(encodedWord(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(encodedWord(chunk)) }
        return "\(name): " + words.joined(separator: "\r\n ")
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?utf-8?B?\(Data(bytes).base64EncodedString())?="
    }

    /// "Tue, 01 Dec 2026 12:00:00 +0000", whatever the machine's locale.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = days[((parts.weekday ?? 1) - 1 + 7) % 7]
        let month = months[((parts.month ?? 1) - 1 + 12) % 12]
        return
            "\(weekday), \(two(parts.day ?? 1)) \(month) \(parts.year ?? 1970) \(two(parts.hour ?? 0)):\(two(parts.minute ?? 0)):\(two(parts.second ?? 0)) +0000"
    }

    private static func two(_ number: Int) -> String {
        number < 10 ? "0\(number)" : "\(number)"
    }

    /// Quoted-printable (RFC 2045 §6.7) of `text` as UTF-8: CRLF line ends, every line ≤ 76
    /// characters (soft breaks `=` where a line is longer), `=`, controls, 8-bit bytes and trailing
    /// blanks encoded. A line starting with "." is left for the SMTP client to dot-stuff.
    static func quotedPrintable(_ text: String) -> String {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return normalized.split(separator: "\n", omittingEmptySubsequences: false).map { encodeLine(Array($0.utf8)) }
            .joined(separator: "\r\n")
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func encodeLine(_ bytes: [UInt8]) -> String {
        var lines: [String] = []
        var current = ""
        for (index, byte) in bytes.enumerated() {
            let last = index == bytes.count - 1
            let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !last)
            let piece =
                literal
                ? String(UnicodeScalar(byte)) : "=" + String(UnicodeScalar(hex[Int(byte >> 4)])) + String(UnicodeScalar(hex[Int(byte & 15)]))
            // 75 leaves room for the soft break's "=".
            if current.utf8.count + piece.utf8.count > 75 {
                lines.append(current + "=")
                current = ""
            }
            current += piece
        }
        lines.append(current)
        return lines.joined(separator: "\r\n")
    }
}
