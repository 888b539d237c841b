import Foundation
import Testing

@testable import TributaryConnectors

@Suite("The JSON parser of providers' answers accepts, refuses and reads what Foundation's decoder does")
struct JSONParserTests {
    /// What Foundation's decoder makes of `bytes` (the reference), nil when it refuses them.
    static func reference(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, fromOutside: Data(bytes))
    }

    static func parsed(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONParser.parse(bytes)
    }

    /// A random document without repeated keys, with the pieces that are hard to read: escapes,
    /// surrogate pairs, big and small numbers, exponents, whitespace.
    static func document(_ fuzz: inout Fuzz, depth: Int = 0) -> String {
        let space = fuzz.pick(["", " ", "\n", "\t ", "\r\n"])
        switch fuzz.int(0...(depth > 4 ? 3 : 5)) {
        case 0: return space + fuzz.pick(["null", "true", "false"]) + space
        case 1:
            return fuzz.pick([
                "0", "-0", "1", "-1", "42", "3.25", "-0.5", "1e3", "1E-7", "2.5e+10", "9007199254740993", "-9223372036854775808",
                "9223372036854775807", "18446744073709551616", "123456789012345678901234567890", "1e308", "5e-324", "0.1",
            ])
        case 2:
            return "\"" + fuzz.pick(["", "a", "ü", "😀", "\\n", "\\\"", "\\\\", "\\/", "\\u00e9", "\\ud83d\\ude00", "\\u0000", "tab\\tx"])
                + fuzz.text(0...3).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\u{0}", with: "\\u0000").replacingOccurrences(of: "\r", with: "\\r")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
        case 3, 4:
            let count = fuzz.int(0...4)
            let items = (0..<count).map { _ in document(&fuzz, depth: depth + 1) }
            return space + "[" + items.joined(separator: ",") + "]" + space
        default:
            let count = fuzz.int(0...4)
            let fields = (0..<count).map { index in "\"k\(index)\(fuzz.pick(["", "ü", " x"]))\"" + space + ":" + document(&fuzz, depth: depth + 1) }
            return space + "{" + fields.joined(separator: ",") + "}" + space
        }
    }

    @Test("random documents and their one-byte mutations: the same answer as Foundation's decoder")
    func differential() {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("JSONParserTests: seed \(seed)")
        var fuzz = Fuzz(seed: seed)
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = Array(Self.document(&fuzz).utf8)
            if fuzz.chance(0.5), !bytes.isEmpty {
                let at = fuzz.int(0...(bytes.count - 1))
                switch fuzz.int(0...2) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(fuzz.pick(Array("{}[]\",:\\0-.eE \u{7F}".utf8) + [0x00, 0xC3, 0xFF]), at: at)
                default: bytes[at] = fuzz.pick(Array("{}[]\",:\\0-.eE tfn".utf8) + [0x00, 0x80, 0xFF])
                }
            }
            let reference = Self.reference(bytes)
            // A mutation can repeat a key; which of two values Foundation keeps is its own affair.
            if let reference, Self.hasRepeatedKey(bytes) {
                _ = reference
                continue
            }
            // Foundation refuses a zero with an exponent ("0e3") and an exponent of many digits
            // ("1E-7123456789…", a mutation's merge), which RFC 8259 allows and this parser reads.
            if reference == nil, String(decoding: bytes, as: UTF8.self).contains(/(^|[^0-9.])-?0[eE]|[eE][+-]?[0-9]{4,}/) { continue }
            // Compared as Doubles: Foundation turns a fraction beyond 2^53 into an integer (`values` checks exactness).
            #expect(Self.parsed(bytes)?.numbersAsDoubles == reference?.numbersAsDoubles, "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            if let reference {
                accepted += 1
                // The text a record is stored as reads back as the same value (U+0000 aside: it becomes U+FFFD).
                if !bytes.contains(0), !String(decoding: bytes, as: UTF8.self).contains("\\u0000") {
                    #expect(Self.parsed(Array(reference.jsonText.utf8)) == reference, "seed \(seed): \(reference.jsonText)")
                }
            }
        }
        #expect(accepted > 1000)
    }

    @Test("random records at a pointer: each kept text reads back as its element, and there is one per element")
    func keptTexts() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("JSONParserTests.keptTexts: seed \(seed)")
        var fuzz = Fuzz(seed: seed)
        var kept = 0
        for _ in 0..<500 {
            let elements = (0..<fuzz.int(0...6)).map { _ in Self.document(&fuzz) }
            let text =
                #"{"meta":{"data":[1]},"page":{"items~/x":[{"data":["#
                + elements.joined(separator: ",") + #"]}]}}"#
            let pointer = JSONPointer.tokens("/page/items~0~1x/0/data")
            // The generator's text pieces can make an invalid document now and then.
            guard let (value, texts) = try? JSONParser.parse(Array(text.utf8), keepingTextAt: pointer) else { continue }
            let items = try #require(JSONPointer.resolve("/page/items~0~1x/0/data", in: value)?.arrayValue, "seed \(seed)")
            let found = try #require(texts, "seed \(seed): \(text)")
            #expect(found.count == items.count, "seed \(seed): \(text)")
            for (item, text) in zip(items, found) {
                guard let text else { continue }
                kept += 1
                #expect(!text.contains("\\u0000") && text.first?.isWhitespace != true, "seed \(seed): \(text)")
                #expect(try JSONParser.parse(Array(text.utf8)) == item, "seed \(seed): \(text)")
            }
        }
        #expect(kept > 500)
    }

    @Test("kept records read only for some members: the same refusals, texts and those members as a whole parse")
    func selectedMembers() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("JSONParserTests.selectedMembers: seed \(seed)")
        var fuzz = Fuzz(seed: seed)
        let members: Set<String> = ["k0", "k2ü"]
        var compared = 0
        for _ in 0..<3000 {
            let elements = (0..<fuzz.int(0...6)).map { _ in Self.document(&fuzz) }
            var bytes = Array((#"{"next":"n","data":["# + elements.joined(separator: ",") + "]}").utf8)
            // One byte in two documents changed: most land in a member that is only checked.
            if fuzz.chance(0.5), !bytes.isEmpty {
                bytes[fuzz.int(0...(bytes.count - 1))] = fuzz.pick(Array("{}[]\",:\\0-.eE tfnu".utf8) + [0x00, 0x01, 0x1F, 0x7F, 0x80, 0xC3, 0xFF])
            }
            let whole = Result { () throws(JSONParser.Malformed) in try JSONParser.parse(bytes, keepingTextAt: ["data"]) }
            let selected = Result { () throws(JSONParser.Malformed) in try JSONParser.parse(bytes, keepingTextAt: ["data"], members: members) }
            let text = String(decoding: bytes, as: UTF8.self)
            switch (whole, selected) {
            case (.failure(let refused), .failure(let alsoRefused)):
                #expect(refused == alsoRefused, "seed \(seed): \(text)")
            case (.success(let whole), .success(let selected)):
                #expect(selected.texts == whole.texts, "seed \(seed): \(text)")
                #expect(selected.value["next"] == whole.value["next"], "seed \(seed): \(text)")
                let items = whole.value["data"]?.arrayValue ?? []
                let shallow = selected.value["data"]?.arrayValue ?? []
                #expect(shallow.count == items.count, "seed \(seed): \(text)")
                for (index, (item, read)) in zip(items, shallow).enumerated() {
                    compared += 1
                    if case .object(let fields) = item, whole.texts?[index] != nil {
                        #expect(read == .object(fields.filter { members.contains($0.key) }), "seed \(seed): \(text)")
                    } else {
                        #expect(read == item, "seed \(seed): \(text)")
                    }
                }
            default:
                Issue.record("seed \(seed): one parse refused what the other read: \(text)")
            }
        }
        #expect(compared > 1000)
    }

    @Test("a kept text is nil where jsonb would refuse it as written; a repeated key's last array is the one kept")
    func keptTextRefusals() throws {
        let text =
            #"{"d":[{"a":"x"}],"d":[{"a":"x\u0000"},[1,],{"b":1,},1e-1001,1e0001,0.5e-999,"#
            + "0." + String(repeating: "1", count: 50) + #",{"a":"\u00e9\/"}]}"#
        let (_, texts) = try JSONParser.parse(Array(text.utf8), keepingTextAt: ["d"])
        #expect(texts == [nil, nil, nil, nil, nil, "0.5e-999", nil, #"{"a":"\u00e9\/"}"#])
        #expect(try JSONParser.parse(Array(#"{"d":{"a":1}}"#.utf8), keepingTextAt: ["d"]).texts == nil)
        #expect(try JSONParser.parse(Array(#" [ 1 , "a" ] "#.utf8), keepingTextAt: []).texts == ["1", #""a""#])
    }

    static func hasRepeatedKey(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        let keys = text.matches(of: /"k\d[^"]*"\s*:/).map { String(text[$0.range]).filter { !$0.isWhitespace } }
        return Set(keys).count != keys.count
    }

    @Test("what a hostile provider sends is refused without a trap")
    func hostile() {
        let cases: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "["), count: 513), Array(repeating: UInt8(ascii: "{"), count: 100_000),
            Array("[\"\\ud800\"]".utf8), Array("[\"\\udc00\"]".utf8), Array("[\"\\ud800\\u0041\"]".utf8), [0x22, 0xFF, 0x22],
            [0x22, 0xC3, 0x22], Array("[1e400]".utf8), Array("[-]".utf8), Array("[01]".utf8), Array("[1.]".utf8), Array("[.5]".utf8),
            Array("{\"a\" 1}".utf8), Array("\"\\u12\"".utf8), Array("\"\\x\"".utf8), Array("\"a\nb\"".utf8), [],
            Array("nul".utf8), Array("[] []".utf8),
        ]
        for bytes in cases { #expect(Self.parsed(bytes) == nil, "\(String(decoding: bytes.prefix(40), as: UTF8.self))") }
        // Deep but within the limit: read.
        let deep = Array(repeating: UInt8(ascii: "["), count: 200) + Array(repeating: UInt8(ascii: "]"), count: 200)
        #expect(Self.parsed(deep) != nil)
    }

    @Test("integers beyond 2^53 stay exact; a repeated key keeps its last value")
    func values() throws {
        #expect(try JSONParser.parse(Array("9007199254740993".utf8)) == .integer(9_007_199_254_740_993))
        #expect(try JSONParser.parse(Array("1e20".utf8)) == .number(1e20))
        #expect(try JSONParser.parse(Array("92233720368547758.07".utf8)) == .number(92_233_720_368_547_758.07))
        #expect(try JSONParser.parse(Array("[1,2,]".utf8)) == .array([.number(1), .number(2)]))
        #expect(try JSONParser.parse(Array("{\"a\":1,\"a\":2}".utf8)) == .object(["a": .number(2)]))
        #expect(try JSONParser.parse(Array("\"\\ud83d\\ude00\\u00e9\"".utf8)) == .string("😀é"))
    }
}
