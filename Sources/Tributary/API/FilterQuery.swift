import Foundation
import Hummingbird
import TributaryConnectors

/// The optional filters of a list's query string, read one by one; every malformed one is
/// collected, so a client learns them all in one 400.
struct FilterQuery {
    private let request: Request
    private var errors: [FieldError] = []

    init(_ request: Request) {
        self.request = request
    }

    func text(_ name: String) -> String? {
        request.uri.queryParameters[name[...]].map(String.init)
    }

    mutating func uuid(_ name: String) -> UUID? {
        guard let text = text(name) else { return nil }
        guard let id = UUID(uuidString: text) else {
            errors.append(FieldError(field: name, message: "must be a UUID"))
            return nil
        }
        return id
    }

    mutating func timestamp(_ name: String) -> Date? {
        guard let text = text(name) else { return nil }
        guard let date = Timestamps.parse(text) else {
            errors.append(FieldError(field: name, message: "must be an RFC 3339 timestamp"))
            return nil
        }
        return date
    }

    /// One of `Value`'s cases, named by its raw value.
    mutating func oneOf<Value: RawRepresentable & CaseIterable>(_ name: String, _ type: Value.Type) -> Value? where Value.RawValue == String {
        guard let text = text(name) else { return nil }
        guard let value = Value(rawValue: text) else {
            errors.append(FieldError(field: name, message: "must be one of: \(Value.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        return value
    }

    func check() throws(APIError) {
        if !errors.isEmpty { throw APIError.badQuery(errors) }
    }
}
