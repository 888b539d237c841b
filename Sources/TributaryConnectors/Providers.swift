/// Every provider this build can connect to, in the catalog's order. A new connector is a folder
/// `TributaryConnectors/<Name>/` with a type conforming to `Provider`, and one entry here.
public let allProviders: [any Provider.Type] = [KlaviyoProvider.self, KeapProvider.self, RestProvider.self, DemoProvider.self]

extension ProviderCatalog {
    /// The catalog as shipped.
    public static let standard = ProviderCatalog(allProviders)
}

extension ConnectorRegistry {
    /// The connectors as shipped.
    public init() {
        self.init(providers: allProviders)
    }
}
