import Foundation
import Hummingbird
import TributaryConnectors

/// An answer with a JSON body.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var headers: HTTPFields = [:]
    var value: Value

    init(_ value: Value, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) {
        self.value = value
        self.status = status
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try context.responseEncoder.encode(value, from: request, context: context)
        response.status = status
        for field in headers { response.headers[field.name] = field.value }
        return response
    }
}

extension Request {
    /// Reads the body as `T`: 415 unless it is JSON, 413 past the context's limit, 400 when it
    /// is not JSON at all, 422 naming the field when JSON of the wrong shape.
    func decodeJSON<T: Decodable>(as type: T.Type, context: some RequestContext) async throws -> T {
        let contentType = headers[.contentType]?.lowercased() ?? ""
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw APIError.unsupportedMediaType
        }
        if let length = headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw APIError.payloadTooLarge
        }
        var request = self
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; send a JSON object")
        }
        // Read once with JSONParser first, in linear time: Foundation's decoder spends time
        // growing with the square of the nesting on a value it must try several types for (a
        // cursor, a config), and a 1 KB body 500 levels deep held a core for half a second.
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard document.nesting <= Self.maxBodyNesting else {
            throw APIError.badRequest("the request body is nested deeper than \(Self.maxBodyNesting) levels")
        }
        do {
            return try await context.requestDecoder.decode(T.self, from: request, context: context)
        } catch let error as DecodingError {
            throw APIError.from(error, validJSON: true)
        }
    }

    /// Deeper than any body of the API needs (a `rest` config is about six levels).
    static let maxBodyNesting = 32
}

extension JSONValue {
    /// How deep arrays and objects go: 0 for a scalar. The parser bounds the recursion.
    var nesting: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.nesting).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.nesting).max() ?? 0)
        default: 0
        }
    }
}

extension APIError {
    /// Turns a decoding failure into 400 (not JSON) or 422 (JSON, wrong shape) naming the field.
    /// `validJSON`: the body is known to be JSON, so a failure without a field is a value that
    /// does not fit its field (Foundation names none for `5.5` or `1e300` given for an integer).
    static func from(_ error: DecodingError, validJSON: Bool = false) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty && validJSON:
            return .validation([FieldError(field: "", message: "a number does not fit its field: give a whole number within the field's bounds")])
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .badRequest("the request body is not valid JSON")
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return .badRequest("the request body must be a JSON object")
        case .dataCorrupted(let context):
            return .validation([FieldError(field: fieldName(context.codingPath), message: "has an invalid value")])
        case .typeMismatch(let expected, let context):
            return .validation([FieldError(field: fieldName(context.codingPath), message: "must be \(describe(expected))")])
        case .valueNotFound(let expected, let context):
            return .validation([FieldError(field: fieldName(context.codingPath), message: "must be \(describe(expected)), not null")])
        case .keyNotFound(let key, let context):
            return .validation([FieldError(field: fieldName(context.codingPath + [key]), message: "is required")])
        @unknown default:
            return .badRequest("the request body could not be read")
        }
    }

    /// `alert_emails[1]`, `config.base_url`: decoding names the properties, the wire snake_cases them.
    static func fieldName(_ path: [any CodingKey]) -> String {
        var name = ""
        for key in path {
            if let index = key.intValue {
                name += "[\(index)]"
            } else {
                let wire = JSONCoding.snakeCased(key.stringValue)
                name += name.isEmpty ? wire : ".\(wire)"
            }
        }
        return name
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type, is [String].Type: "an array"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
