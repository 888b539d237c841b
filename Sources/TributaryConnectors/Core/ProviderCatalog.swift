/// Every provider this build of Tributary can connect to.
public struct ProviderCatalog: Sendable {
    public let providers: [ProviderDescriptor]
    /// The providers themselves, where the catalog was made of them: what only code can say (a
    /// stream's position) is asked of them.
    let types: [any Provider.Type]

    public init(providers: [ProviderDescriptor]) {
        self.providers = providers
        self.types = []
    }

    /// The catalog of `providers`' descriptors, in their order.
    public init(_ providers: [any Provider.Type]) {
        self.providers = providers.map { $0.descriptor }
        self.types = providers
    }

    public func provider(id: String) -> ProviderDescriptor? {
        providers.first { $0.id == id }
    }

    /// The checkpoint `position` stands for in `stream` of an integration of `provider`
    /// (`Provider.checkpoint(at:stream:config:)`).
    public func checkpoint(provider: String, at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue
    {
        guard let type = types.first(where: { $0.descriptor.id == provider }) else {
            throw PositionRefused("\(provider) streams do not take a position")
        }
        return try type.checkpoint(at: position, stream: stream, config: config)
    }
}
