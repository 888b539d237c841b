import Fakes
import Foundation
import PropertyBased
import TributaryConnectors

/// Draws hostile inputs — configs, credentials, provider answers — from one seeded generator, so
/// a seed replays a whole run exactly.
struct Fuzz {
    var rng: Xoshiro
    /// How often `choose` strays from what a config schema allows: low, so that most cases get
    /// past validation to the HTTP layer and the connectors.
    var hostility: Float = 0.15

    init(seed: UInt64) {
        rng = Xoshiro(seed: (seed, seed ^ 0x9E37_79B9_7F4A_7C15, seed &* 0xBF58_476D_1CE4_E5B9 | 1, ~seed))
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Gen.int(in: range).run(using: &rng) }
    mutating func chance(_ rate: Float) -> Bool { Gen.bool(rate).run(using: &rng) }
    mutating func pick<T: Sendable>(_ items: [T]) -> T { Gen<T?>.element(of: items).run(using: &rng) ?? items[0] }
    /// One of `valid`, or now and then one of `hostile`.
    mutating func choose<T: Sendable>(_ valid: [T], _ hostile: [T]) -> T { chance(hostility) ? pick(hostile) : pick(valid) }

    /// Text made of the pieces that break URL, header and JSON handling.
    mutating func text(_ length: ClosedRange<Int> = 0...8) -> String {
        let pieces = [
            "a", "Z", "0", "9", "/", "?", "&", "=", "%", "%2", "%zz", "%41", "%00", " ", "\"", "#", "[", "]", "{", "}", "\\", "\u{0}", "\r\n",
            "\t", "ü", "😀", "\u{FFFD}", "\u{FFFF}", "..", "//", "@", ":", ";", "+", "~", "'", "<", ">", "|", "\u{202E}", "x", "-", "_",
        ]
        var result = ""
        for _ in 0..<int(length) { result += pick(pieces) }
        if chance(0.1) { result += String(Gen.unicodeScalar(in: "\u{80}"..."\u{10FF}").run(using: &rng)) }
        return result
    }

    mutating func link(port: Int) -> String {
        pick([
            "http://127.0.0.1:\(port)/next?page=2", "/items?page=3", "?page=4", "relative/next", "unix:///var/run/docker.sock",
            "http+unix://%2Fvar%2Frun%2Fdocker.sock/info", "http://169.254.169.254/latest/meta-data/", "//evil.test/x", "http://[::1]:\(port)/",
            "ht tp://bad", "", "%zz", "file:///etc/passwd", "http://127.0.0.2:\(port)/x", text(),
        ])
    }

    // MARK: - JSON, as text (so that it can also be broken)

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    mutating func number() -> String {
        pick([
            "0", "-0", "1", "42", "1.5", "1e400", "-1e400", "123456789012345678901234567890", "9007199254740993", "1E+308", "4.9e-324",
            "-9223372036854775809", "18446744073709551616", "0.1e-999", "1e19",
        ])
    }

    mutating func scalar(port: Int) -> String {
        switch int(0...9) {
        case 0...2: number()
        case 3: pick(["true", "false", "null"])
        case 4: pick([#""a\u0000b""#, #""\ud800""#, #""\u0000""#, #""2024-01-01T00:00:00Z""#, #""9999-12-31T23:59:59.999+0000""#])
        case 5: Self.quoted(link(port: port))
        default: Self.quoted(text())
        }
    }

    mutating func value(depth: Int, port: Int) -> String {
        guard depth > 0, chance(0.4) else { return scalar(port: port) }
        let count = int(0...4)
        if chance(0.5) { return "[" + (0..<count).map { _ in value(depth: depth - 1, port: port) }.joined(separator: ",") + "]" }
        let keys = (0..<count).map { _ in key() }
        return "{" + keys.map { "\(Self.quoted($0)):\(value(depth: depth - 1, port: port))" }.joined(separator: ",") + "}"
    }

    mutating func key() -> String {
        pick(["id", "a\u{0}", "a\u{FFFD}", "updated", "updated_at", "last_updated", "datetime", "next", "links", "data", "attributes", text()])
    }

    /// A record much like a provider's, with hostile ids and cursor values.
    mutating func record(port: Int) -> String {
        var members: [String] = []
        if chance(0.9) { members.append("\"id\":" + pick([number(), scalar(port: port), Self.quoted(text(1...4)), "null", "{}", "[1]"])) }
        for field in ["updated_at", "updated", "last_updated", "datetime", "sent_date"] where chance(0.3) {
            members.append(
                "\"\(field)\":"
                    + pick(["\"2024-05-01T10:00:00Z\"", "\"2024-05-01T10:00:00.000+0000\"", "\"0000-00-00\"", number(), scalar(port: port)])
            )
        }
        if chance(0.3) { members.append("\"attributes\":{\"updated\":\(scalar(port: port)),\"datetime\":\(scalar(port: port))}") }
        if chance(0.2) { members.append(#""a\u0000":1,"a\ufffd":2"#) }
        if chance(0.3) { members.append("\(Self.quoted(key())):\(value(depth: 3, port: port))") }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A body shaped as `provider` answers, full of hostile values; sometimes no JSON at all.
    mutating func body(provider: String, port: Int) -> [UInt8] {
        let records = "[" + (0..<int(0...5)).map { _ in record(port: port) }.joined(separator: ",") + "]"
        let next = chance(0.3) ? pick(["null", "1", "{}"]) : Self.quoted(link(port: port))
        var text: String
        switch int(0...9) {
        case 0: text = value(depth: 4, port: port)
        case 1:
            // 513 openers at the very end trap Foundation's decoder unless the input is padded.
            text =
                String(repeating: pick(["[", " [", #"{"":["#]), count: pick([100, 256, 512, 513, 20_000])) + pick(["", "[", "{"])
                + String(repeating: "]", count: pick([0, 100, 513, 20_000]))
        case 2: text = String(repeating: "{\"a\":", count: pick([100, 600, 5000])) + "1" + String(repeating: "}", count: pick([100, 600, 5000]))
        case 3: text = number()
        default:
            switch provider {
            case "klaviyo": text = "{\"data\":\(records),\"links\":{\"next\":\(next)}}"
            case "keap": text = "{\"contacts\":\(records),\"emails\":\(records),\"next\":\(next)}"
            default:
                text =
                    chance(0.4)
                    ? records
                    : "{\"results\":\(records),\"data\":{\"items\":\(records)},\"items\":\(records),\"next\":\(next),"
                        + "\"links\":{\"next\":\(next)},\"meta\":{\"next_cursor\":\(scalar(port: port))}}"
            }
        }
        var bytes = Array(text.utf8)
        if chance(0.1), !bytes.isEmpty { bytes = Array(bytes.prefix(int(0...(bytes.count - 1)))) }  // truncated
        if chance(0.1), !bytes.isEmpty {  // not UTF-8
            for _ in 0..<int(1...4) { bytes[int(0...(bytes.count - 1))] = pick([0xFF, 0xC0, 0x80, 0xED, 0x00]) }
        }
        return bytes
    }

    // MARK: - Raw HTTP answers

    mutating func answer(provider: String, port: Int) -> RawAnswer {
        let status = pick([200, 200, 200, 200, 200, 200, 201, 204, 206, 299, 301, 302, 304, 400, 401, 404, 418, 429, 429, 429, 500, 503, 599, 999])
        var body = body(provider: provider, port: port)
        var head = pick([
            "HTTP/1.1 \(status) Fuzzed\r\n", "HTTP/1.1 \(status) Fuzzed\r\n", "HTTP/1.1 \(status) Fuzzed\r\n", "HTTP/1.0 \(status) Old\r\n",
            "HTTP/1.1 abc\r\n", "garbage\r\n", "HTTP/1.1 \(status)\r\n",
        ])
        if chance(0.7) { head += "Content-Type: " + pick(["application/json", "text/html", "application/vnd.api+json; charset=utf-8"]) + "\r\n" }
        if chance(0.35) {
            head +=
                "Retry-After: "
                + pick([
                    "1e19", "inf", "nan", "-1", "0", "0.005", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "soon", "", "1e-400",
                ])
                + "\r\n"
        }
        if chance(0.35) {
            let target = link(port: port).replacingOccurrences(of: "\r\n", with: "")
            head +=
                "Link: "
                + pick([
                    "<\(target)>; rel=\"next\"", "<\(target)>; rel=next", "<\(target)", "\(target); rel=\"next\"",
                    "<a>; rel=\"first\", <\(target)>; rel=\"next\"",
                ]) + "\r\n"
        }
        if chance(0.1) {
            head += pick([
                "X-Weird: \u{1}\u{7F}\r\n", " folded continuation\r\n", "NoColonHere\r\n",
                "X-Long: " + String(repeating: "x", count: 20_000) + "\r\n",
            ])
        }
        switch int(0...9) {
        case 0: head += "Content-Length: \(body.count + int(1...50))\r\n"  // shorter than promised
        case 1: head += "Content-Length: \(max(0, body.count - int(1...10)))\r\n"
        case 2: break  // delimited by the close
        case 3:
            head += "Transfer-Encoding: chunked\r\n"
            body = Array(String(body.count, radix: 16).utf8) + Array("\r\n".utf8) + body + Array("\r\n0\r\n\r\n".utf8)
        case 4:
            head += "Transfer-Encoding: chunked\r\n"
            body = Array("zz\r\n".utf8) + body
        case 5: head += "Content-Length: " + pick(["-1", "abc", "99999999999999999999999", "5, 6"]) + "\r\n"
        default: head += "Content-Length: \(body.count)\r\n"
        }
        return RawAnswer(Array((head + "\r\n").utf8) + body)
    }
}
