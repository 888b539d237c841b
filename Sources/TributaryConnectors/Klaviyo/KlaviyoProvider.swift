/// Klaviyo's JSON:API (`https://a.klaviyo.com/api`), with a private API key or OAuth.
public enum KlaviyoProvider: Provider {
    public static let baseURL = "https://a.klaviyo.com"

    public static let descriptor = ProviderDescriptor(
        id: "klaviyo",
        name: "Klaviyo",
        authTypes: [.apiKey, .oauth2],
        streams: KlaviyoStream.all.map(\.descriptor),
        configSchema: ProviderDescriptor.httpConfigSchema(
            defaultBaseURL: baseURL,
            adding: [
                "membership_full_pass_days": JSONSchema.integer(
                    minimum: 0,
                    maximum: 3650,
                    default: 7,
                    "How often list_memberships and segment_memberships read every list whole, tombstoning ended memberships (0: every run)."
                )
            ]
        ),
        oauth: OAuthSpec(
            authorizeURL: "https://www.klaviyo.com/oauth/authorize",
            tokenURL: "https://a.klaviyo.com/oauth/token",
            clientAuthentication: .basic,
            defaultScopes: [
                "accounts:read", "campaigns:read", "events:read", "flows:read", "lists:read", "metrics:read",
                "profiles:read", "segments:read", "templates:read",
            ]
        )
    )

    public static func connector(context: ConnectorContext) throws -> any Connector {
        try KlaviyoConnector(context: context)
    }

    /// An incremental stream resumes after an instant: its cursor is that timestamp.
    public static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue {
        guard let known = KlaviyoStream.named(stream) else { throw PositionRefused("klaviyo has no stream \(stream)") }
        if known.parent != nil { throw .perParent(stream) }
        guard known.cursorField != nil else { throw .readWhole(stream) }
        return .string(Timestamps.format(try StreamPosition.instant(position)))
    }
}
