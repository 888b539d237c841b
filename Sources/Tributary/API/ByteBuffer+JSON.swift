import Foundation
import NIOCore
import TributaryConnectors

/// JSON written straight into a response buffer, for the records page, whose hundreds of small
/// strings and timestamps cost more through `JSONEncoder` than the rest of the request
/// (`bench/api-load`). Each writes what `JSONCoding.encoder` would mean: the same string, the same
/// instant in whole seconds (`JSONWritingTests` holds them to it).
extension ByteBuffer {
    /// `value` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
    mutating func writeJSONString(_ value: String) {
        writeInteger(UInt8(ascii: "\""))
        let utf8 = value.utf8
        // Most strings need no escape: copied whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            writeString(value)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): writeStaticString("\\\"")
                case UInt8(ascii: "\\"): writeStaticString("\\\\")
                case 0x0A: writeStaticString("\\n")
                case 0x0D: writeStaticString("\\r")
                case 0x09: writeStaticString("\\t")
                case 0x08: writeStaticString("\\b")
                case 0x0C: writeStaticString("\\f")
                case ..<0x20:
                    writeStaticString("\\u00")
                    writeInteger(Self.hexDigits[Int(byte >> 4)])
                    writeInteger(Self.hexDigits[Int(byte & 0x0F)])
                default: writeInteger(byte)
                }
            }
        }
        writeInteger(UInt8(ascii: "\""))
    }

    /// `date` as a JSON string `"2024-11-07T20:35:13Z"`: UTC, the fraction of a second dropped.
    /// A year outside 0–9999 goes through `JSONCoding.encoder`, as every other date does.
    mutating func writeJSONTimestamp(_ date: Date) {
        let interval = date.timeIntervalSince1970.rounded(.down)
        guard interval.isFinite, abs(interval) < 1e12 else { return writeEncodedTimestamp(date) }
        let (days, secondOfDay) = Int(interval).quotientAndRemainder(dividingBy: 86_400)
        let (day, time) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, dayOfMonth) = Timestamps.civil(daysSinceEpoch: day)
        guard (0...9999).contains(year) else { return writeEncodedTimestamp(date) }
        writeInteger(UInt8(ascii: "\""))
        writeDigits(year, count: 4)
        writeInteger(UInt8(ascii: "-"))
        writeDigits(month, count: 2)
        writeInteger(UInt8(ascii: "-"))
        writeDigits(dayOfMonth, count: 2)
        writeInteger(UInt8(ascii: "T"))
        writeDigits(time / 3600, count: 2)
        writeInteger(UInt8(ascii: ":"))
        writeDigits(time / 60 % 60, count: 2)
        writeInteger(UInt8(ascii: ":"))
        writeDigits(time % 60, count: 2)
        writeStaticString("Z\"")
    }

    private mutating func writeEncodedTimestamp(_ date: Date) {
        if let encoded = try? JSONCoding.encoder.encode(date) {
            writeBytes(encoded)
        } else {
            writeStaticString("null")
        }
    }

    /// `value`, 0 ≤ value < 10^count, in exactly `count` decimal digits.
    private mutating func writeDigits(_ value: Int, count: Int) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
