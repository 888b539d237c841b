/// JSON text written straight from a `JSONValue`, without `JSONEncoder`'s generic `Codable` path:
/// every stored record goes through here, and that path cost a third of a run-task's CPU.
/// The output is what `JSONEncoder` with sorted keys and unescaped slashes writes (whole numbers
/// below 1e15 without a fraction, as they came in; other numbers in Swift's shortest form).
struct JSONTextWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether a string or key held U+0000, which Postgres's jsonb cannot store.
    private(set) var sawNUL = false

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .integer(let number): append(String(number))
        case .number(let number):
            if !number.isFinite {
                append("null")  // not JSON; parsed input never holds one
            } else if number.rounded() == number, abs(number) < 1e15 {
                append(String(Int64(number)))
            } else {
                append(String(number))
            }
        case .string(let text): write(string: text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let fields):
            bytes.append(UInt8(ascii: "{"))
            // Sorted by their UTF-8 bytes: the same order as Swift's for ASCII keys, and much cheaper.
            for (index, key) in fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(string: key)
                bytes.append(UInt8(ascii: ":"))
                if let field = fields[key] { write(field) }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: quote, backslash and control characters escaped, everything else as UTF-8,
    /// copied a run at a time between the bytes that need escaping.
    private mutating func write(string text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for (offset, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<offset]))
                runStart = offset + 1
                escape(byte)
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default:
            if byte == 0 { sawNUL = true }
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0x0F)]])
        }
    }
}

extension JSONValue {
    /// The value as compact JSON text, keys sorted. Postgres's jsonb cannot hold U+0000, so a
    /// provider string carrying one gets U+FFFD in its place rather than failing the stream forever.
    public var jsonText: String {
        var writer = JSONTextWriter()
        writer.write(self)
        if writer.sawNUL {
            writer = JSONTextWriter()
            writer.write(withoutNUL)
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
