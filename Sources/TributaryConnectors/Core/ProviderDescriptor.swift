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

/// What the catalog says of a provider: identity, auth, streams and the shape of its config.
public struct ProviderDescriptor: Sendable, Codable, Hashable {
    public var id: String
    public var name: String
    public var authTypes: [AuthType]
    public var streams: [StreamDescriptor]
    public var configSchema: JSONValue

    public init(id: String, name: String, authTypes: [AuthType], streams: [StreamDescriptor], configSchema: JSONValue) {
        self.id = id
        self.name = name
        self.authTypes = authTypes
        self.streams = streams
        self.configSchema = configSchema
    }

    enum CodingKeys: String, CodingKey {
        case id, name, streams
        case authTypes = "auth_types"
        case configSchema = "config_schema"
    }
}
