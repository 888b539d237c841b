/// How a provider lets an integration authenticate.
public enum AuthType: String, Sendable, Codable, CaseIterable {
    case apiKey = "api_key"
    case oauth2
    case none
}

/// Whether a stream is read from a cursor onwards or whole each run.
public enum SyncMode: String, Sendable, Codable {
    case incremental
    case fullRefresh = "full_refresh"
}

/// One kind of record a provider serves.
public struct StreamDescriptor: Sendable, Codable, Hashable {
    public var name: String
    public var syncMode: SyncMode
    public var primaryKey: [String]
    public var cursorField: String?

    public init(name: String, syncMode: SyncMode, primaryKey: [String], cursorField: String?) {
        self.name = name
        self.syncMode = syncMode
        self.primaryKey = primaryKey
        self.cursorField = cursorField
    }

    enum CodingKeys: String, CodingKey {
        case name
        case syncMode = "sync_mode"
        case primaryKey = "primary_key"
        case cursorField = "cursor_field"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(syncMode, forKey: .syncMode)
        try container.encode(primaryKey, forKey: .primaryKey)
        // The catalog always shows the field, null for full-refresh streams.
        try container.encode(cursorField, forKey: .cursorField)
    }
}

/// How a provider's token endpoint wants the OAuth client to authenticate (RFC 6749 §2.3.1).
public enum ClientAuthentication: String, Sendable, Codable, Hashable {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    case basic
    /// `client_id` and `client_secret` in the form body.
    case body
}

/// A provider's OAuth 2.0 endpoints, as its documentation gives them.
public struct OAuthSpec: Sendable, Codable, Hashable {
    public var authorizeURL: String
    public var tokenURL: String
    public var clientAuthentication: ClientAuthentication
    public var defaultScopes: [String]

    public init(authorizeURL: String, tokenURL: String, clientAuthentication: ClientAuthentication, defaultScopes: [String]) {
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.clientAuthentication = clientAuthentication
        self.defaultScopes = defaultScopes
    }
}

/// What the catalog says of a provider: identity, auth, streams and the shape of its config.
public struct ProviderDescriptor: Sendable, Encodable, Hashable {
    public var id: String
    public var name: String
    public var authTypes: [AuthType]
    public var streams: [StreamDescriptor]
    public var configSchema: JSONValue
    /// The provider's real API, used when `config.base_url` is absent.
    public var defaultBaseURL: String?
    public var oauth: OAuthSpec?
    /// Streams come from each integration's config (the `rest` connector), not from the catalog.
    public var dynamicStreams: Bool

    public init(
        id: String, name: String, authTypes: [AuthType], streams: [StreamDescriptor], configSchema: JSONValue,
        defaultBaseURL: String? = nil, oauth: OAuthSpec? = nil, dynamicStreams: Bool = false
    ) {
        self.id = id
        self.name = name
        self.authTypes = authTypes
        self.streams = streams
        self.configSchema = configSchema
        self.defaultBaseURL = defaultBaseURL
        self.oauth = oauth
        self.dynamicStreams = dynamicStreams
    }

    enum CodingKeys: String, CodingKey {
        case id, name, streams
        case authTypes = "auth_types"
        case configSchema = "config_schema"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(authTypes, forKey: .authTypes)
        try container.encode(streams, forKey: .streams)
        try container.encode(configSchema, forKey: .configSchema)
    }

    public func stream(named name: String) -> StreamDescriptor? {
        streams.first { $0.name == name }
    }

    /// The streams an integration with `config` can sync.
    public func streams(config: [String: JSONValue]) -> [StreamDescriptor] {
        dynamicStreams ? RestProvider.streams(config: config) : streams
    }
}

extension ProviderDescriptor {
    /// The config schema of providers reached over HTTP: where the API is and how far back to read.
    static func httpConfigSchema(defaultBaseURL: String, extra: [String: JSONValue] = [:]) -> JSONValue {
        var properties: [String: JSONValue] = [
            "base_url": [
                "type": "string", "format": "uri", "default": .string(defaultBaseURL),
                "description": "The API's base URL; override it for proxies, regional hosts and tests.",
            ],
            "historical_sync_days": [
                "type": "integer", "minimum": 1, "maximum": 3650, "default": 90,
                "description": "How many days of history the first sync reads.",
            ],
        ]
        properties.merge(extra) { _, new in new }
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": .object(properties),
        ]
    }
}
