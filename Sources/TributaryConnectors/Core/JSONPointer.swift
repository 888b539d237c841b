/// RFC 6901 JSON pointers: "" is the whole document, "/a/0/b" walks members and indexes.
enum JSONPointer {
    /// The pointer's reference tokens, unescaped (`~1` is `/`, `~0` is `~`); none for "" (the whole document).
    static func tokens(_ pointer: String) -> [String] {
        pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { raw in
            raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func resolve(_ pointer: String, in value: JSONValue) -> JSONValue? {
        var current = value
        for token in tokens(pointer) {
            switch current {
            case .object(let fields):
                guard let next = fields[token] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }
}
