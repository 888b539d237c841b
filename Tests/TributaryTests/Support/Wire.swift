import Foundation

/// How the tests read and write the API's JSON: set up here, once, and on purpose apart from the
/// server's own coders (and its Domain types), so that the tests check the format on the wire
/// rather than the code that writes it.
enum Wire {
    /// Reads answers into the views of `Views.swift`: `snake_case` members, RFC 3339 timestamps.
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in SwiftName(snakeCase: path.last?.stringValue ?? "") }
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = timestamp(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 timestamp: \(text)"))
            }
            return date
        }
        return decoder
    }

    /// Writes request bodies from the types of `Bodies.swift`: `syncFrequencyMinutes` → `sync_frequency_minutes`.
    /// (String-keyed dictionaries, such as a config, keep their keys as written.)
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// `2026-03-01T12:00:00Z`, with or without fractional seconds.
    static func timestamp(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle().parse(text)) ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }

    /// A member's name as Swift spells it: `next_sync_at` → `nextSyncAt`, `tenant_id` → `tenantID`.
    private struct SwiftName: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }

        init(snakeCase key: String) {
            let words = key.split(separator: "_", omittingEmptySubsequences: false)
            stringValue =
                String(words.first ?? "")
                + words.dropFirst().map { word in
                    ["id", "url"].contains(word) ? word.uppercased() : word.prefix(1).uppercased() + word.dropFirst()
                }.joined()
        }

        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Any JSON value, for what has no fixed shape (a config, a record's data, an entry's details)
/// and for what a typed view cannot tell apart: a member that is `null` and one that is missing.
enum JSON: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// `text` read as JSON (a stored row, say).
    init(parsing text: String) throws {
        self = try Wire.decoder.decode(JSON.self, from: Data(text.utf8))
    }

    /// The member `key` of an object; nil when it is missing (a `null` member is `.null`).
    subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    subscript(index: Int) -> JSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSON)...) { self = .object(Dictionary(elements) { _, last in last }) }
}
