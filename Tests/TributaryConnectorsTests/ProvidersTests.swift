import Testing

@testable import TributaryConnectors

@Suite("One list of providers builds the catalog and the registry")
struct ProvidersTests {
    @Test("the catalog lists every provider once, in the list's order, and the registry builds each one's connector")
    func oneList() throws {
        #expect(ProviderCatalog.standard.providers.map(\.id) == ["klaviyo", "keap", "rest", "demo"])
        let registry = ConnectorRegistry()
        #expect(try registry.connector(for: "demo", context: testContext([:], credential: .none)) is DemoConnector)
        #expect(try registry.connector(for: "klaviyo", context: testContext([:], credential: .apiKey("k"))) is KlaviyoConnector)
        #expect(try registry.connector(for: "keap", context: testContext([:], credential: .apiKey("k"))) is KeapConnector)
        let items: JSONValue = ["name": "items", "path": "/items", "primary_key": "id"]
        let rest: [String: JSONValue] = ["base_url": "https://api.example.test", "streams": [items]]
        #expect(try registry.connector(for: "rest", context: testContext(rest, credential: .none)) is RestConnector)
        #expect(try registry.connector(for: "nothing", context: testContext([:], credential: .none)) == nil)
    }

    @Test("Klaviyo's catalog streams come from the connector's own table")
    func klaviyoStreams() {
        #expect(KlaviyoProvider.descriptor.streams.map(\.name) == KlaviyoStream.all.map(\.name))
        #expect(KlaviyoProvider.descriptor.stream(named: "metrics")?.syncMode == .fullRefresh)
        #expect(KlaviyoProvider.descriptor.stream(named: "events")?.cursorField == "datetime")
    }
}
