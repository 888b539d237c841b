/// A declarative connector for any JSON API, configured entirely in the integration's `config`.
public enum RestProvider {
    static func constType(_ name: String) -> JSONValue { ["const": .string(name)] }

    static let paginationSchema: JSONValue = [
        "oneOf": [
            ["type": "object", "additionalProperties": false, "required": ["type"], "properties": ["type": constType("none")]],
            [
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": [
                    "type": constType("next_url"),
                    "next_url_path": ["type": "string", "pattern": "^/", "default": "/next", "description": "JSON pointer to the next page's URL."],
                ],
            ],
            ["type": "object", "additionalProperties": false, "required": ["type"], "properties": ["type": constType("link_header")]],
            [
                "type": "object", "additionalProperties": false, "required": ["type", "next_cursor_path"],
                "properties": [
                    "type": constType("cursor"),
                    "cursor_param": ["type": "string", "minLength": 1, "default": "cursor"],
                    "next_cursor_path": ["type": "string", "pattern": "^/", "description": "JSON pointer to the next cursor; null or absent ends."],
                ],
            ],
            [
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": [
                    "type": constType("offset"),
                    "offset_param": ["type": "string", "minLength": 1, "default": "offset"],
                    "limit_param": ["type": "string", "minLength": 1, "default": "limit"],
                    "limit": ["type": "integer", "minimum": 1, "maximum": 10000, "default": 100],
                ],
            ],
            [
                "type": "object", "additionalProperties": false, "required": ["type"],
                "properties": [
                    "type": constType("page"),
                    "page_param": ["type": "string", "minLength": 1, "default": "page"],
                    "size_param": ["type": "string", "minLength": 1, "default": "per_page"],
                    "size": ["type": "integer", "minimum": 1, "maximum": 10000, "default": 100],
                    "start_page": ["type": "integer", "minimum": 0, "default": 1],
                ],
            ],
        ]
    ]

    static let authSchema: JSONValue = [
        "oneOf": [
            ["type": "object", "additionalProperties": false, "required": ["type"], "properties": ["type": constType("none")]],
            [
                "type": "object", "additionalProperties": false, "required": ["type", "header"],
                "properties": ["type": constType("api_key_header"), "header": ["type": "string", "minLength": 1], "prefix": ["type": "string"]],
            ],
            [
                "type": "object", "additionalProperties": false, "required": ["type", "param"],
                "properties": ["type": constType("api_key_query"), "param": ["type": "string", "minLength": 1]],
            ],
            ["type": "object", "additionalProperties": false, "required": ["type"], "properties": ["type": constType("bearer")]],
            [
                "type": "object", "additionalProperties": false, "required": ["type", "username"],
                "properties": ["type": constType("basic"), "username": ["type": "string", "minLength": 1]],
            ],
            ["type": "object", "additionalProperties": false, "required": ["type"], "properties": ["type": constType("oauth2")]],
        ]
    ]

    static let streamSchema: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["name", "path", "primary_key"],
        "properties": [
            "name": ["type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$"],
            "path": ["type": "string", "pattern": "^/"],
            "records_path": ["type": "string", "pattern": "^(/.*)?$", "default": "", "description": "JSON pointer to the records array; empty for a top-level array."],
            "primary_key": ["type": "string", "minLength": 1],
            "cursor_field": ["type": "string", "minLength": 1, "description": "Makes the stream incremental on this field."],
            "cursor_param": ["type": "string", "minLength": 1, "description": "The query parameter that carries the cursor."],
            "query": ["type": "object", "additionalProperties": ["type": "string"]],
            "pagination": ["$ref": "#/$defs/pagination"],
        ],
    ]

    public static let descriptor = ProviderDescriptor(
        id: "rest",
        name: "Any JSON API (declarative)",
        authTypes: [.none, .apiKey, .oauth2],
        streams: [],
        configSchema: [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "required": ["base_url", "streams"],
            "$defs": ["pagination": paginationSchema],
            "properties": [
                "base_url": ["type": "string", "format": "uri"],
                "historical_sync_days": ["type": "integer", "minimum": 1, "maximum": 3650, "default": 90],
                "auth": authSchema,
                "streams": ["type": "array", "minItems": 1, "maxItems": 50, "items": streamSchema],
            ],
        ],
        // Any API's OAuth endpoints are the admin's to give: PUT /v1/providers/rest/oauth-app
        // with authorize_url and token_url.
        oauth: OAuthSpec(authorizeURL: "", tokenURL: "", clientAuthentication: .basic, defaultScopes: []),
        dynamicStreams: true
    )

    /// The streams a `rest` config declares.
    static func streams(config: [String: JSONValue]) -> [StreamDescriptor] {
        (config["streams"]?.arrayValue ?? []).compactMap { stream in
            guard let name = stream["name"]?.stringValue, let key = stream["primary_key"]?.stringValue else { return nil }
            let cursor = stream["cursor_field"]?.stringValue
            return StreamDescriptor(name: name, syncMode: cursor == nil ? .fullRefresh : .incremental, primaryKey: [key], cursorField: cursor)
        }
    }
}
