import Foundation
import TributaryConnectors

/// jsonb goes to Postgres as text cast to jsonb, and comes back as text: no JSON coder of the
/// driver's in between, so keys and numbers stay exactly as written.
enum JSONColumn {
    static func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }

    /// Read with `JSONParser`, not `JSONDecoder`: a row's config and summaries went through
    /// `Codable` on every answer, a sixth of the API's CPU under load (`bench/api-load`).
    static func value(_ text: String) throws -> JSONValue {
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw StoreError.failed("a jsonb column is not JSON (offset \(error.offset))")
        }
    }

    static func object(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let members) = try value(text) else { throw StoreError.failed("a jsonb column is not an object") }
        return members
    }

    /// A column this application wrote from a `T`; `empty` for `{}` (most such columns), unparsed.
    static func decoded<T: Decodable>(_ text: String, as type: T.Type, empty: T) throws -> T {
        if text == "{}" { return empty }
        return try JSONCoding.decoder.decode(T.self, fromOutside: Data(text.utf8))
    }
}
