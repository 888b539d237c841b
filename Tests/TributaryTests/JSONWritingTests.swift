import Foundation
import NIOCore
import Testing

@testable import Tributary

/// The records page's hand-written JSON says what `JSONCoding.encoder` would.
@Suite struct JSONWritingTests {
    @Test("a string with every escape, and none, reads back as itself")
    func strings() throws {
        let controls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let values = ["", "plain", "quote \" backslash \\ slash /", controls, "line\nbreak\ttab\r", "é 中文 🦅 \u{2028}", "\u{7F}\u{85}"]
        for value in values {
            var buffer = ByteBuffer()
            buffer.writeJSONString(value)
            let written = Data(buffer.readableBytesView)
            #expect(try JSONDecoder().decode(String.self, from: written) == value)
        }
    }

    @Test("timestamps are written as the shared encoder writes them, in whole seconds")
    func timestamps() throws {
        var generator = SystemRandomNumberGenerator()
        var dates = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 0.999), Date(timeIntervalSince1970: -0.5),
            Date(timeIntervalSince1970: -86_400 * 365 * 70 - 0.25), Date(timeIntervalSince1970: 951_782_400),  // 2000-02-29
            Date(timeIntervalSince1970: 253_402_300_799),  // 9999-12-31T23:59:59Z
            Date(timeIntervalSince1970: 253_402_300_800),  // year 10000: the encoder's own answer
        ]
        for _ in 0..<2000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -2_208_988_800...4_102_444_800, using: &generator)))
        }
        for date in dates {
            var buffer = ByteBuffer()
            buffer.writeJSONTimestamp(date)
            let expected = String(decoding: try JSONCoding.encoder.encode(date), as: UTF8.self)
            #expect(String(buffer: buffer) == expected, "\(date.timeIntervalSince1970)")
        }
    }
}
