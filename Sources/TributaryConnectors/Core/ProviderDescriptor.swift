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

    /// A stream with a cursor field is read incrementally on it; one without, whole each run.
    public init(name: String, primaryKey: [String], cursorField: String?) {
        self.init(name: name, syncMode: cursorField == nil ? .fullRefresh : .incremental, primaryKey: primaryKey, cursorField: cursorField)
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
public struct ProviderDescriptor: Sendable, Encodable {
    public var id: String
    public var name: String
    public var authTypes: [AuthType]
    public var streams: [StreamDescriptor]
    public var configSchema: JSONValue
    public var oauth: OAuthSpec?
    /// For a provider whose streams each integration's config declares (the `rest` connector):
    /// reads them from a config. Nil when `streams` are all there is.
    public var streamsInConfig: (@Sendable ([String: JSONValue]) -> [StreamDescriptor])?
    /// What a config must also hold that its JSON Schema cannot say (`rest`: a child stream's parent
    /// is another of its streams, without cycles). Asked only of a config that passes the schema.
    public var configRules: (@Sendable ([String: JSONValue]) -> [SchemaViolation])?

    public init(
        id: String,
        name: String,
        authTypes: [AuthType],
        streams: [StreamDescriptor],
        configSchema: JSONValue,
        oauth: OAuthSpec? = nil,
        streamsInConfig: (@Sendable ([String: JSONValue]) -> [StreamDescriptor])? = nil,
        configRules: (@Sendable ([String: JSONValue]) -> [SchemaViolation])? = nil
    ) {
        self.id = id
        self.name = name
        self.authTypes = authTypes
        self.streams = streams
        self.configSchema = configSchema
        self.oauth = oauth
        self.streamsInConfig = streamsInConfig
        self.configRules = configRules
    }

    /// Every way `config` breaks the schema, or else the provider's rules; paths under `config`.
    public func violations(config: [String: JSONValue]) -> [SchemaViolation] {
        let found = JSONSchema.validate(.object(config), against: configSchema, at: "config")
        return found.isEmpty ? (configRules?(config) ?? []) : found
    }

    /// What `GET /v1/providers` shows; the OAuth endpoints stay inside.
    enum CodingKeys: String, CodingKey {
        case id, name, streams
        case authTypes = "auth_types"
        case configSchema = "config_schema"
    }

    /// Streams come from each integration's config, not from the catalog.
    public var dynamicStreams: Bool { streamsInConfig != nil }

    public func stream(named name: String) -> StreamDescriptor? {
        streams.first { $0.name == name }
    }

    /// The streams an integration with `config` can sync.
    public func streams(config: [String: JSONValue]) -> [StreamDescriptor] {
        streamsInConfig?(config) ?? streams
    }
}

extension ProviderDescriptor {
    /// The config schema of providers reached over HTTP: where the API is and how far back to read.
    static func httpConfigSchema(defaultBaseURL: String, adding extra: [String: JSONValue] = [:]) -> JSONValue {
        JSONSchema.document(
            extra.merging([
                "base_url": JSONSchema.string(
                    format: "uri",
                    default: defaultBaseURL,
                    "The API's base URL; override it for proxies, regional hosts and tests."
                ),
                "historical_sync_days": JSONSchema.integer(minimum: 1, maximum: 3650, default: 90, "How many days of history the first sync reads."),
            ]) { _, shared in shared }
        )
    }
}
