/// Klaviyo's JSON:API (`https://a.klaviyo.com/api`), with a private API key or OAuth.
public enum KlaviyoProvider {
    public static let baseURL = "https://a.klaviyo.com"

    public static let descriptor = ProviderDescriptor(
        id: "klaviyo",
        name: "Klaviyo",
        authTypes: [.apiKey, .oauth2],
        streams: [
            StreamDescriptor(name: "profiles", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated"),
            StreamDescriptor(name: "events", syncMode: .incremental, primaryKey: ["id"], cursorField: "datetime"),
            StreamDescriptor(name: "metrics", syncMode: .fullRefresh, primaryKey: ["id"], cursorField: nil),
            StreamDescriptor(name: "lists", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated"),
            StreamDescriptor(name: "segments", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated"),
            StreamDescriptor(name: "flows", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated"),
            StreamDescriptor(name: "templates", syncMode: .incremental, primaryKey: ["id"], cursorField: "updated"),
            StreamDescriptor(name: "campaigns", syncMode: .fullRefresh, primaryKey: ["id"], cursorField: nil),
        ],
        configSchema: ProviderDescriptor.httpConfigSchema(defaultBaseURL: baseURL),
        defaultBaseURL: baseURL,
        oauth: OAuthSpec(
            authorizeURL: "https://www.klaviyo.com/oauth/authorize",
            tokenURL: "https://a.klaviyo.com/oauth/token",
            clientAuthentication: .basic,
            defaultScopes: [
                "accounts:read", "campaigns:read", "events:read", "flows:read", "lists:read", "metrics:read",
                "profiles:read", "segments:read", "templates:read",
            ])
    )
}
