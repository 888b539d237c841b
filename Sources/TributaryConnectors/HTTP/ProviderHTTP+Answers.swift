import Foundation
import NIOHTTP1

/// Reading what a provider answered: JSON bodies, `Retry-After`, and its own words for a failure.
extension ProviderHTTP {
    static func parse(_ data: Data, url: String) throws -> JSONValue {
        try parse(data, url: url, keepingTextAt: nil).value
    }

    /// The answer, and the texts of the elements of the array at `pointer` (tokens) as the
    /// provider wrote them, each element kept as text holding only `members`
    /// (`JSONParser.parse(_:keepingTextAt:members:)`).
    static func parse(
        _ data: Data,
        url: String,
        keepingTextAt pointer: [String]?,
        members: Set<String>? = nil
    ) throws -> (value: JSONValue, texts: [String?]?) {
        do {
            return try JSONParser.parse(Array(data), keepingTextAt: pointer, members: members)
        } catch {
            throw ConnectorError(code: "malformed_response", message: "\(Self.path(of: url)) answered a body that is not valid JSON", retryable: true)
        }
    }

    /// The longest wait a `Retry-After` can ask for here: a day (anything longer is refused anyway).
    static let longestRetryAfter: Double = 86_400

    /// `Retry-After` in seconds or as an HTTP date, clamped to 0…a day; nil when it is neither
    /// (`inf`, `nan` and other text fall back to the usual backoff).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        let seconds: Double
        if let number = Double(value) {
            seconds = number
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            guard let date = formatter.date(from: value) else { return nil }
            seconds = date.timeIntervalSinceNow
        }
        guard seconds.isFinite else { return nil }
        return .milliseconds(Int(min(max(seconds, 0), longestRetryAfter) * 1000))
    }

    /// What the provider said went wrong: JSON:API `errors[].detail`, `message`, `error_description`, or the start of the body.
    static func providerMessage(_ body: Data) -> String {
        if let json = try? JSONParser.parse(Array(body)) {
            if case .array(let errors)? = json["errors"], let first = errors.first {
                if case .string(let detail)? = first["detail"] { return String(detail.prefix(300)) }
                if case .string(let title)? = first["title"] { return String(title.prefix(300)) }
            }
            for key in ["message", "error_description", "error", "detail"] {
                if case .string(let text)? = json[key] { return String(text.prefix(300)) }
            }
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no details" : text
    }
}
