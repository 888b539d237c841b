/// A strict RFC 8259 parser straight into `JSONValue`, for providers' answers: Foundation's
/// `JSONDecoder` reaches a `JSONValue` through `Codable`, one thrown error per type it tries, which
/// cost two fifths of a run-task's CPU. It accepts and refuses what `JSONDecoder` does (trailing
/// commas included), and gives the same values (an integer literal beyond ±2^53 that fits `Int64`
/// stays exact; unlike Foundation's, a fraction such as `92233720368547758.07` stays a number); a document nested deeper
/// than `maxDepth` (recursion on the caller's thread), invalid UTF-8 or an unpaired surrogate escape
/// is refused. It never traps: every
/// index is checked, and numbers are converted only through failable initializers.
public struct JSONParser {
    public struct Malformed: Error, Sendable, Equatable {
        public var offset: Int
    }

    public static let maxDepth = 256

    public static func parse(_ bytes: [UInt8]) throws(Malformed) -> JSONValue {
        try parse(bytes, keepingTextAt: nil).value
    }

    /// The document, and the text of each element of the array at `pointer` (a JSON pointer's
    /// tokens) exactly as the document holds it, so that a record can be stored without being
    /// written again. An element's text is nil where Postgres's jsonb would not take it as it is
    /// (an escaped U+0000, a trailing comma, a number beyond what `numeric` holds); `texts` is nil
    /// when there is no array at `pointer`. A repeated key keeps its last value, and the texts follow it.
    ///
    /// With `members`, an element that is an object and whose text is kept holds only those of its
    /// members (what the caller reads of a record it stores as text: its key, its cursor); the
    /// rest is checked as thoroughly as ever but not built, which is most of a page's parse. An
    /// element whose text is not kept is read whole, since the caller writes it again.
    public static func parse(
        _ bytes: [UInt8],
        keepingTextAt pointer: [String]?,
        members: Set<String>? = nil
    ) throws(Malformed) -> (value: JSONValue, texts: [String?]?) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(Malformed) -> (value: JSONValue, texts: [String?]?) in
            var parser = JSONParser(buffer, pointer: pointer, members: members)
            parser.skipSpace()
            let value = try parser.value(depth: 0, onPointer: pointer == nil ? nil : 0)
            parser.skipSpace()
            guard parser.index == buffer.count else { throw Malformed(offset: parser.index) }
            return (value, parser.texts)
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private let pointer: [String]
    /// The members kept of a kept element, nil for all.
    private let members: Set<String>?
    private var texts: [String?]?
    /// Counts what jsonb would refuse in the text as written; an element whose parse moved it is not kept as text.
    private var notStorable = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, pointer: [String]?, members: Set<String>?) {
        self.bytes = bytes
        self.pointer = pointer ?? []
        self.members = members
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func fail() -> Malformed { Malformed(offset: index) }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(Malformed) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail() }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { throw fail() }
        index += count
    }

    /// `onPointer`: how many of the pointer's tokens the path to this value matched, nil once off it.
    private mutating func value(depth: Int, onPointer: Int? = nil) throws(Malformed) -> JSONValue {
        guard let byte = current else { throw fail() }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1, onPointer: onPointer)
        case UInt8(ascii: "["): return try array(depth: depth + 1, onPointer: onPointer)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default: return try number()
        }
    }

    /// `selecting`: only the members in `members` are built; the others are checked, not built.
    private mutating func object(depth: Int, onPointer: Int?, selecting: Bool = false) throws(Malformed) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail() }
        var fields: [String: JSONValue] = [:]
        try members(closing: UInt8(ascii: "}")) { (parser) throws(Malformed) in
            guard parser.current == UInt8(ascii: "\"") else { throw parser.fail() }
            let key = try parser.string()
            try parser.colon()
            if selecting, parser.members?.contains(key) != true { return try parser.skip(depth: depth) }
            let next = onPointer.flatMap { matched in matched < parser.pointer.count && parser.pointer[matched] == key ? matched + 1 : nil }
            fields[key] = try parser.value(depth: depth, onPointer: next)  // a repeated key: the last one stands
        }
        return .object(fields)
    }

    private mutating func array(depth: Int, onPointer: Int?) throws(Malformed) -> JSONValue {
        guard depth <= Self.maxDepth else { throw fail() }
        var items: [JSONValue] = []
        // The array at the pointer: its elements' texts are kept (again from the start if a
        // repeated key brings it twice, as its last value stands).
        let keeping = onPointer == pointer.count
        if keeping { texts = [] }
        try members(closing: UInt8(ascii: "]")) { (parser) throws(Malformed) in
            let next = onPointer.flatMap { matched in
                matched < parser.pointer.count && Int(parser.pointer[matched]) == items.count ? matched + 1 : nil
            }
            let start = parser.index
            let refusals = parser.notStorable
            guard keeping else {
                items.append(try parser.value(depth: depth, onPointer: next))
                return
            }
            let selecting = parser.members != nil && parser.current == UInt8(ascii: "{")
            var item = try selecting ? parser.object(depth: depth + 1, onPointer: nil, selecting: true) : parser.value(depth: depth, onPointer: next)
            if parser.notStorable == refusals {
                parser.texts?.append(String(decoding: UnsafeBufferPointer(rebasing: parser.bytes[start..<parser.index]), as: UTF8.self))
            } else {
                if selecting {
                    // Written again by the caller, so read whole: the same bytes, already found valid.
                    parser.index = start
                    item = try parser.value(depth: depth, onPointer: next)
                }
                parser.texts?.append(nil)
            }
            items.append(item)
        }
        return .array(items)
    }

    /// Checks one value as `value(depth:)` reads it, refusing and counting what it would, but builds nothing.
    private mutating func skip(depth: Int) throws(Malformed) {
        guard let byte = current else { throw fail() }
        switch byte {
        case UInt8(ascii: "{"):
            guard depth + 1 <= Self.maxDepth else { throw fail() }
            try members(closing: UInt8(ascii: "}")) { (parser) throws(Malformed) in
                guard parser.current == UInt8(ascii: "\"") else { throw parser.fail() }
                try parser.skipString()
                try parser.colon()
                try parser.skip(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            guard depth + 1 <= Self.maxDepth else { throw fail() }
            try members(closing: UInt8(ascii: "]")) { (parser) throws(Malformed) in try parser.skip(depth: depth + 1) }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        default: _ = try number()
        }
    }

    /// Checks a string: plain ASCII without escapes by a scan, anything else as `string()` reads it.
    private mutating func skipString() throws(Malformed) {
        let open = index
        index += 1
        var ascii = true
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw fail() }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        guard let stop = current else { throw fail() }
        if stop == UInt8(ascii: "\""), ascii {
            index += 1
            return
        }
        index = open
        _ = try string()
    }

    /// The `:` between a member's key and its value, with the space around it.
    private mutating func colon() throws(Malformed) {
        skipSpace()
        guard current == UInt8(ascii: ":") else { throw fail() }
        index += 1
        skipSpace()
    }

    /// Reads an object's members or an array's elements, one `member` at a time, from the opening
    /// bracket to `closing`. A trailing comma passes, as Foundation's decoder lets it (jsonb does
    /// not, so the text is not storable as it is).
    @inline(__always)
    private mutating func members(closing: UInt8, _ member: (inout JSONParser) throws(Malformed) -> Void) throws(Malformed) {
        index += 1  // the opening bracket
        skipSpace()
        if current == closing {
            index += 1
            return
        }
        while true {
            skipSpace()
            if current == closing {
                notStorable += 1
                index += 1
                return
            }
            try member(&self)
            skipSpace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case closing?:
                index += 1
                return
            default: throw fail()
            }
        }
    }

    private mutating func string() throws(Malformed) -> String {
        index += 1  // opening quote
        let start = index
        // The common case: no escapes, read the bytes as they are.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw fail() }
            index += 1
        }
        guard let stop = current else { throw fail() }
        if stop == UInt8(ascii: "\"") {
            index += 1
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self) else {
                throw Malformed(offset: start)
            }
            return text
        }
        var utf8 = Array(bytes[start..<index])
        while true {
            guard let byte = current else { throw fail() }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try text(utf8, at: start)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = current else { throw fail() }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail()
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail() }
                    if scalar == 0 { notStorable += 1 }  // jsonb cannot hold U+0000
                    utf8.append(contentsOf: String(Character(unicode)).utf8)
                default: throw fail()
                }
            default:
                guard byte >= 0x20 else { throw fail() }
                utf8.append(byte)
                index += 1
            }
        }
    }

    private func text(_ utf8: [UInt8], at start: Int) throws(Malformed) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw Malformed(offset: start) }
        return text
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail()
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws(Malformed) -> JSONValue {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw fail() }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var integral = true
        if current == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard digits() else { throw fail() }
        }
        var exponentDigits = 0
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integral = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            guard digits() else { throw fail() }
            exponentDigits = index - digitsStart
        }
        // jsonb's numeric holds 16,383 digits after the point: a literal that may pass that (long,
        // or an exponent of four digits or more) is written again from its Double.
        if index - start > 40 || exponentDigits > 3 { notStorable += 1 }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(literal), double.isFinite else { throw Malformed(offset: start) }
        // Beyond 2^53 a Double rounds: an integer literal that fits Int64 stays exact.
        if integral, abs(double) >= 9_007_199_254_740_992, let exact = Int64(literal) { return .integer(exact) }
        return .number(double)
    }

    private mutating func skipDigits() {
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
    }

    /// Skips one or more digits; false when there was none.
    private mutating func digits() -> Bool {
        let start = index
        skipDigits()
        return index > start
    }
}
