import Foundation

extension JSONValue {
    /// The member `key` of an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The value with every U+0000 (in strings and in keys) replaced by U+FFFD. Two keys that
    /// become one (`"a\u{0}"` and `"a\u{FFFD}"`) keep one value, the same every time: the key that
    /// had no NUL wins, else the smallest original key.
    var withoutNUL: JSONValue {
        switch self {
        case .string(let text): .string(text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"))
        case .array(let items): .array(items.map(\.withoutNUL))
        case .object(let fields):
            .object(
                Dictionary(
                    fields.map { key, value in (key.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"), (original: key, value: value.withoutNUL)) },
                    uniquingKeysWith: { first, second in
                        let firstClean = !first.original.unicodeScalars.contains { $0.value == 0 }
                        let secondClean = !second.original.unicodeScalars.contains { $0.value == 0 }
                        if firstClean != secondClean { return firstClean ? first : second }
                        let firstFirst = first.original.unicodeScalars.map(\.value).lexicographicallyPrecedes(
                            second.original.unicodeScalars.map(\.value)
                        )
                        return firstFirst ? first : second
                    }
                ).mapValues(\.value)
            )
        default: self
        }
    }
}
