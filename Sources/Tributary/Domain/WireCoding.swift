import Foundation

extension UUID {
    /// How ids appear in answers, logs and activity details: lowercase, as RFC 9562 prints them.
    var lowercased: String { uuidString.lowercased() }
}

/// A UUID, or an optional one, as an id field of an answer.
public protocol WireIDValue: Sendable, Hashable {
    var uuid: UUID? { get }
    init?(uuid: UUID?)
}

extension UUID: WireIDValue {
    public var uuid: UUID? { self }
    public init?(uuid: UUID?) {
        guard let uuid else { return nil }
        self = uuid
    }
}

extension Optional: WireIDValue where Wrapped == UUID {
    public var uuid: UUID? { self }
    public init?(uuid: UUID?) { self = uuid }
}

/// An id written lowercase, as RFC 9562 prints it (Foundation writes UUIDs in uppercase), and
/// `null` when absent: the one rule for ids in answers, so no type writes its own `encode(to:)`.
@propertyWrapper
public struct WireID<Value: WireIDValue>: Sendable, Hashable, Codable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let uuid = wrappedValue.uuid { try container.encode(uuid.lowercased) } else { try container.encodeNil() }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let uuid = container.decodeNil() ? nil : try container.decode(UUID.self)
        guard let value = Value(uuid: uuid) else {
            throw DecodingError.valueNotFound(UUID.self, .init(codingPath: decoder.codingPath, debugDescription: "id is null"))
        }
        self.wrappedValue = value
    }
}

/// An optional field written as `null` when absent, as the contract has it (synthesized
/// `Encodable` leaves absent optionals out).
@propertyWrapper
public struct Nullable<Value: Sendable & Encodable>: Sendable, Encodable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension Nullable: Equatable where Value: Equatable {}
extension Nullable: Hashable where Value: Hashable {}

extension Nullable: Decodable where Value: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as nil, as it would for a plain optional.
    public func decode<Value: Decodable>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }

    public func decode(_ type: WireID<UUID?>.Type, forKey key: Key) throws -> WireID<UUID?> {
        try decodeIfPresent(type, forKey: key) ?? WireID(wrappedValue: nil)
    }
}

/// The JSON coding of the whole application, configured once: snake_case keys (dictionary keys
/// such as stream names and config fields are left as they are), RFC 3339 UTC timestamps,
/// sorted keys. Answers, request bodies, jsonb columns and sealed payloads all use it.
enum JSONCoding {
    /// Shared: a configured coder is safe to use from many tasks at once.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// `syncFrequencyMinutes` → `sync_frequency_minutes`: a property as the wire names it, for
    /// error messages (decoding errors name the property).
    static func snakeCased(_ name: String) -> String {
        var result = ""
        var previous: Character?
        for (index, character) in name.enumerated() {
            let next = name.dropFirst(index + 1).first
            if character.isUppercase, let previous, previous != "_",
                previous.isLowercase || previous.isNumber || (next?.isLowercase ?? false)
            {
                result.append("_")
            }
            result.append(contentsOf: character.lowercased())
            previous = character
        }
        return result
    }
}
