import Foundation

extension UUID {
    /// How ids appear in answers, logs and activity details: lowercase, as RFC 9562 prints them.
    var lowercased: String { uuidString.lowercased() }
}

extension KeyedEncodingContainer {
    /// Foundation writes UUIDs in uppercase; the API writes them in lowercase.
    mutating func encode(id: UUID?, forKey key: Key) throws {
        try encode(id?.lowercased, forKey: key)
    }
}
