import Foundation

/// A declarative connector for any JSON API, configured entirely in the integration's `config`.
public enum RestProvider: Provider {
    static let paginationSchema: JSONValue = [
        "oneOf": [
            JSONSchema.tagged("none"),
            JSONSchema.tagged(
                "next_url",
                ["next_url_path": JSONSchema.string(pattern: "^/", default: "/next", "JSON pointer to the next page's URL.")]
            ),
            JSONSchema.tagged("link_header"),
            JSONSchema.tagged(
                "cursor",
                required: ["next_cursor_path"],
                [
                    "cursor_param": JSONSchema.string(minLength: 1, default: "cursor"),
                    "next_cursor_path": JSONSchema.string(pattern: "^/", "JSON pointer to the next cursor; null or absent ends."),
                ]
            ),
            JSONSchema.tagged(
                "offset",
                [
                    "offset_param": JSONSchema.string(minLength: 1, default: "offset"),
                    "limit_param": JSONSchema.string(minLength: 1, default: "limit"),
                    "limit": JSONSchema.integer(minimum: 1, maximum: 10000, default: 100),
                ]
            ),
            JSONSchema.tagged(
                "page",
                [
                    "page_param": JSONSchema.string(minLength: 1, default: "page"),
                    "size_param": JSONSchema.string(minLength: 1, default: "per_page"),
                    "size": JSONSchema.integer(minimum: 1, maximum: 10000, default: 100),
                    "start_page": JSONSchema.integer(minimum: 0, default: 1),
                ]
            ),
        ]
    ]

    static let authSchema: JSONValue = [
        "oneOf": [
            JSONSchema.tagged("none"),
            JSONSchema.tagged(
                "api_key_header",
                required: ["header"],
                [
                    "header": JSONSchema.string(
                        minLength: 1,
                        format: "tenant-header",
                        "Not Host, Content-Length, a hop-by-hop, Proxy-* or Metadata* header."
                    ),
                    "prefix": JSONSchema.string(pattern: "^[^\\u0000-\\u001F\\u007F]*$", "Goes before the key; no control characters."),
                ]
            ),
            JSONSchema.tagged("api_key_query", required: ["param"], ["param": JSONSchema.string(minLength: 1)]),
            JSONSchema.tagged("bearer"),
            JSONSchema.tagged("basic", required: ["username"], ["username": JSONSchema.string(minLength: 1)]),
            JSONSchema.tagged("oauth2"),
        ]
    ]

    static let streamSchema = JSONSchema.closedObject(
        required: ["name", "path", "primary_key"],
        [
            "name": JSONSchema.string(pattern: "^[a-z][a-z0-9_]{0,62}$"),
            "path": JSONSchema.string(pattern: "^/"),
            "records_path": JSONSchema.string(
                pattern: "^(/.*)?$",
                default: "",
                "JSON pointer to the records array; empty for a top-level array."
            ),
            "primary_key": JSONSchema.string(minLength: 1),
            "cursor_field": JSONSchema.string(minLength: 1, "Makes the stream incremental on this field."),
            "cursor_param": JSONSchema.string(minLength: 1, "The query parameter that carries the cursor."),
            "cursor_format": [
                "enum": ["rfc3339", "epoch_seconds", "epoch_milliseconds", "number"],
                "description": "How the first read's start (historical_sync_days back) is written; number: no start.",
            ],
            "query": ["type": "object", "additionalProperties": ["type": "string"]],
            "pagination": ["$ref": "#/$defs/pagination"],
            "parent": JSONSchema.closedObject(
                required: ["stream", "path"],
                [
                    "stream": JSONSchema.string(pattern: "^[a-z][a-z0-9_]{0,62}$", "Another stream of the config, whose records are the parents."),
                    "path": JSONSchema.string(
                        pattern: "^/.*\\{id\\}",
                        "The children's path; {id} is a parent's primary key, percent-encoded as one path segment."
                    ),
                ]
            ),
        ]
    )

    /// `null` (the default, as when absent): no allowance of our own — the API's headers and 429s pace the reads.
    static let rateLimitSchema: JSONValue = [
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": [
            "per_second": JSONSchema.integer(minimum: 1, maximum: 100_000, "At most this many requests in any second."),
            "per_minute": JSONSchema.integer(minimum: 1, maximum: 6_000_000, "At most this many requests in any minute."),
        ],
        "default": .null,
        "description": .string(
            "The API's allowance: either member may be omitted. null or absent: no limit of our own; the API's "
                + "X-RateLimit-*/RateLimit-* headers (a spent window waits for its reset) and 429 Retry-After still pace the reads."
        ),
    ]

    public static let descriptor = ProviderDescriptor(
        id: "rest",
        name: "Any JSON API (declarative)",
        authTypes: [.none, .apiKey, .oauth2],
        streams: [],
        configSchema: JSONSchema.document(
            required: ["base_url", "streams"],
            defs: ["pagination": paginationSchema],
            [
                "base_url": JSONSchema.string(format: "uri"),
                "historical_sync_days": JSONSchema.integer(minimum: 1, maximum: 3650, default: 90),
                "auth": authSchema,
                "rate_limit": rateLimitSchema,
                "streams": ["type": "array", "minItems": 1, "maxItems": 50, "items": streamSchema],
            ]
        ),
        // Any API's OAuth endpoints are the admin's to give: PUT /v1/providers/rest/oauth-app
        // with authorize_url and token_url.
        oauth: OAuthSpec(authorizeURL: "", tokenURL: "", clientAuthentication: .basic, defaultScopes: []),
        streamsInConfig: streams(config:),
        configRules: RestConfig.violations
    )

    /// The streams a `rest` config declares; none for a config that does not decode.
    static func streams(config: [String: JSONValue]) -> [StreamDescriptor] {
        ((try? RestConfig(config))?.streams ?? []).map(\.descriptor)
    }

    public static func connector(context: ConnectorContext) throws -> any Connector {
        try RestConnector(context: context)
    }

    /// A stream with a cursor field resumes after a value of its `cursor_format`: a timestamp for
    /// `rfc3339`, a whole number (or its digits as a string) for the epochs, an integer or any decimal
    /// as a string for `number`.
    public static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue {
        let decoded: RestConfig
        do {
            decoded = try RestConfig(config)
        } catch {
            throw PositionRefused("the integration's config cannot be read: \(error)")
        }
        guard let known = decoded.stream(named: stream) else { throw PositionRefused("config.streams has no stream \(stream)") }
        if known.parent != nil { throw .perParent(stream) }
        guard known.cursorField != nil else { throw .readWhole(stream) }
        switch known.cursorFormat ?? .rfc3339 {
        case .rfc3339:
            return .string(Timestamps.format(try StreamPosition.instant(position)))
        case .epochSeconds:
            return .string(String(try epoch(position, perSecond: 1)))
        case .epochMilliseconds:
            return .string(String(try epoch(position, perSecond: 1000)))
        case .number:
            return .string(try numberText(position))
        }
    }

    /// Digits of a number: a JSON integer, or a decimal string of any length (ids beyond a double's).
    static func numberText(_ position: JSONValue) throws(PositionRefused) -> String {
        switch position {
        case .number(let number):
            if let whole = Int(exactly: number) { return String(whole) }
        case .string(let text):
            if text.count <= 200, DecimalText(text) != nil { return text }
        default:
            break
        }
        throw PositionRefused("must be a number: an integer, or its digits as a string")
    }

    /// Whole units since 1970, not in the future.
    static func epoch(_ position: JSONValue, perSecond: Int64) throws(PositionRefused) -> Int64 {
        let text = try numberText(position)
        guard let value = Int64(text), value >= 0 else { throw PositionRefused("must be a whole, non-negative number since 1970") }
        guard Double(value) <= Date().timeIntervalSince1970 * Double(perSecond) else { throw PositionRefused("must not be in the future") }
        return value
    }
}
