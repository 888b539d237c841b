/// Builds the connector of a provider among those it was given.
public struct ConnectorRegistry: Sendable {
    let providers: [any Provider.Type]

    public init(providers: [any Provider.Type]) {
        self.providers = providers
    }

    /// The connector for `provider` (an id of the catalog); nil when this build has none. A config
    /// its schema refuses (one stored before a rule was added) fails here, before any request.
    public func connector(for provider: String, context: ConnectorContext) throws -> (any Connector)? {
        guard let type = providers.first(where: { $0.descriptor.id == provider }) else { return nil }
        let violations = JSONSchema.validate(.object(context.config), against: type.descriptor.configSchema, at: "config")
        guard violations.isEmpty else {
            throw ConnectorError(code: "invalid_config", message: violations.prefix(3).map(\.description).joined(separator: "; "), retryable: false)
        }
        return try type.connector(context: context)
    }
}
