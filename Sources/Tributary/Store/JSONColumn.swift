import Foundation
import TributaryConnectors

/// jsonb goes to Postgres as text cast to jsonb, and comes back as text: no JSON coder of the
/// driver's in between, so keys and numbers stay exactly as written.
enum JSONColumn {
    static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }

    static func value(_ text: String) throws -> JSONValue {
        try JSONCoding.decoder.decode(JSONValue.self, fromOutside: Data(text.utf8))
    }

    static func object(_ text: String) throws -> [String: JSONValue] {
        try JSONCoding.decoder.decode([String: JSONValue].self, fromOutside: Data(text.utf8))
    }

    /// A column this application wrote from a `T`.
    static func decoded<T: Decodable>(_ text: String, as type: T.Type) throws -> T {
        try JSONCoding.decoder.decode(T.self, fromOutside: Data(text.utf8))
    }
}
