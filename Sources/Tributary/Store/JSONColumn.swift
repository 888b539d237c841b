import Foundation
import TributaryConnectors

/// jsonb goes to Postgres as text cast to jsonb, and comes back as text: no JSON coder of the
/// driver's in between, so keys and numbers stay exactly as written.
enum JSONColumn {
    static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder.store.encode(value), as: UTF8.self)
    }

    static func object(_ text: String) throws -> [String: JSONValue] {
        try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
    }
}

extension JSONEncoder {
    static var store: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
