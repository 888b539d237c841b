import Foundation
import Hummingbird
import TributaryConnectors

/// A field that failed validation, named as the client wrote it (`alert_emails[1]`).
struct FieldError: Sendable, Codable, Equatable {
    var field: String
    var message: String
}

/// Every failure the API answers with, as an RFC 9457 problem.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var slug: String
    var title: String
    var detail: String
    var errors: [FieldError] = []
    /// Extra members of the problem object (a conflicting run's id, say).
    var extensions: [String: JSONValue] = [:]
    /// Sent as `Retry-After` (a 429, a 503).
    var retryAfterSeconds: Int?
    /// Sent as `Allow` (a 405): the methods the resource answers.
    var allow: [String]?

    static func badRequest(_ detail: String, errors: [FieldError] = []) -> APIError {
        APIError(status: .badRequest, slug: "bad-request", title: "Bad request", detail: detail, errors: errors)
    }
    /// A query parameter (or several) at fault: 400, each named as in `errors`.
    static func badQuery(_ errors: [FieldError]) -> APIError {
        .badRequest(errors.map { "\($0.field) \($0.message)" }.joined(separator: "; "), errors: errors)
    }
    static func badQuery(field: String, _ message: String) -> APIError {
        .badQuery([FieldError(field: field, message: message)])
    }
    static func unauthorized(_ detail: String) -> APIError {
        APIError(status: .unauthorized, slug: "unauthorized", title: "Unauthorized", detail: detail)
    }
    static func forbidden(_ detail: String) -> APIError {
        APIError(status: .forbidden, slug: "forbidden", title: "Forbidden", detail: detail)
    }
    static func notFound(_ detail: String) -> APIError {
        APIError(status: .notFound, slug: "not-found", title: "Not found", detail: detail)
    }
    static func methodNotAllowed(_ detail: String, allow: [String]?) -> APIError {
        var error = APIError(status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed", detail: detail)
        error.allow = allow
        return error
    }
    static func conflict(_ detail: String, extensions: [String: JSONValue] = [:]) -> APIError {
        APIError(status: .conflict, slug: "conflict", title: "Conflict", detail: detail, extensions: extensions)
    }
    /// At most `maxFieldErrors` of them, and the detail names the first few: a body of 30,000
    /// bad keys had an answer 20 times its size.
    static func validation(_ errors: [FieldError]) -> APIError {
        let shown = Array(errors.prefix(maxFieldErrors))
        let more = errors.count > shown.count ? " (and \(errors.count - shown.count) more)" : ""
        let named = errors.prefix(10).map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return APIError(
            status: .unprocessableContent,
            slug: "validation-failed",
            title: "Validation failed",
            detail: named + (errors.count > 10 ? "; …" : "") + more,
            errors: shown
        )
    }
    static let maxFieldErrors = 100
    static let payloadTooLarge = APIError(
        status: .contentTooLarge,
        slug: "payload-too-large",
        title: "Payload too large",
        detail: "the request body is larger than 1 MiB"
    )
    static let unsupportedMediaType = APIError(
        status: .unsupportedMediaType,
        slug: "unsupported-media-type",
        title: "Unsupported media type",
        detail: "send the body as application/json"
    )
    /// 503: a failure of ours that may pass; `Retry-After` says when to try again.
    static func unavailable(_ detail: String) -> APIError {
        var error = APIError(status: .serviceUnavailable, slug: "unavailable", title: "Service unavailable", detail: detail)
        error.retryAfterSeconds = 1
        return error
    }
    static func notReady(_ detail: String) -> APIError {
        APIError(status: .serviceUnavailable, slug: "not-ready", title: "Not ready", detail: detail)
    }
    static let unexpected = APIError(
        status: .internalServerError,
        slug: "internal",
        title: "Internal server error",
        detail: "something went wrong on our side; the request id identifies it in our logs"
    )
}
