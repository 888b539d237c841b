/// A kind of source Tributary can connect to: what the catalog says of it, and how to build its
/// connector. A provider lives in its own folder (`TributaryConnectors/<Name>/`) and is listed once,
/// in `allProviders`; nothing in `Core/` names one.
public protocol Provider: Sendable {
    /// Identity, auth, streams and config schema, as `GET /v1/providers` shows them.
    static var descriptor: ProviderDescriptor { get }
    /// The connector for one run, with the integration's config and opened credential.
    static func connector(context: ConnectorContext) throws -> any Connector
    /// The checkpoint the next read of `stream` resumes from when a caller sets its position to
    /// `position` (`PUT …/state/{stream}`), in the shape this provider's connector reads; or why
    /// `position` is not one. `stream` is one of the integration's; `config` passed the schema.
    static func checkpoint(at position: JSONValue, stream: String, config: [String: JSONValue]) throws(PositionRefused) -> JSONValue
}
