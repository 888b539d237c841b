/// Builds the connector of a provider among those it was given.
public struct ConnectorRegistry: Sendable {
    let providers: [any Provider.Type]

    public init(providers: [any Provider.Type]) {
        self.providers = providers
    }

    /// The connector for `provider` (an id of the catalog); nil when this build has none.
    public func connector(for provider: String, context: ConnectorContext) throws -> (any Connector)? {
        try providers.first { $0.descriptor.id == provider }?.connector(context: context)
    }
}
