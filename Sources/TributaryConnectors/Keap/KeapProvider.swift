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

    /// Contacts resume after an instant (`{"since": …}`), emails at a day (`{"day": …}`): the
    /// bare value, or the object `GET …/state` shows.
    public static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue {
        switch stream {
        case "contacts":
            let since = try StreamPosition.instant(StreamPosition.unwrapped(position, key: "since"))
            return ["since": .string(Timestamps.formatMilliseconds(since))]
        case "emails":
            return ["day": .string(try StreamPosition.day(StreamPosition.unwrapped(position, key: "day")))]
        default:
            throw PositionRefused("keap has no stream \(stream)")
        }
    }
}
