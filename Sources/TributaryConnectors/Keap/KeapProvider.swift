/// Keap (formerly Infusionsoft) REST API v1, with a service account key or OAuth.
public enum KeapProvider: Provider {
    public static let baseURL = "https://api.infusionsoft.com/crm/rest"

    public static let descriptor = ProviderDescriptor(
        id: "keap",
        name: "Keap",
        authTypes: [.apiKey, .oauth2],
        streams: [
            StreamDescriptor(name: "emails", primaryKey: ["id"], cursorField: "sent_date"),
            StreamDescriptor(name: "contacts", primaryKey: ["id"], cursorField: "last_updated"),
        ],
        configSchema: ProviderDescriptor.httpConfigSchema(defaultBaseURL: baseURL),
        oauth: OAuthSpec(
            authorizeURL: "https://accounts.infusionsoft.com/app/oauth/authorize",
            tokenURL: "https://api.infusionsoft.com/token",
            clientAuthentication: .body,
            defaultScopes: ["full"]
        )
    )

    public static func connector(context: ConnectorContext) throws -> any Connector {
        try KeapConnector(context: context)
    }
}
