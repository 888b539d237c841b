/// Every provider this build of Tributary can connect to.
public struct ProviderCatalog: Sendable {
    public let providers: [ProviderDescriptor]

    public init(providers: [ProviderDescriptor]) {
        self.providers = providers
    }

    /// The catalog as shipped.
    public static let standard = ProviderCatalog(providers: [KlaviyoProvider.descriptor, KeapProvider.descriptor, RestProvider.descriptor, DemoProvider.descriptor])

    public func provider(id: String) -> ProviderDescriptor? {
        providers.first { $0.id == id }
    }
}
