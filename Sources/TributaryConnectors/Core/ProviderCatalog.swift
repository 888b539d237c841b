/// Every provider this build of Tributary can connect to.
public struct ProviderCatalog: Sendable {
    public let providers: [ProviderDescriptor]

    public init(providers: [ProviderDescriptor]) {
        self.providers = providers
    }

    /// The catalog of `providers`' descriptors, in their order.
    public init(_ providers: [any Provider.Type]) {
        self.init(providers: providers.map { $0.descriptor })
    }

    public func provider(id: String) -> ProviderDescriptor? {
        providers.first { $0.id == id }
    }
}
