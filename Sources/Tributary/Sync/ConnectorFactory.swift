import Foundation
import Logging
import TributaryConnectors

/// Builds an integration's connector with its config and its opened credential.
struct ConnectorFactory: Sendable {
    let store: Store
    let vault: CredentialVault
    let refresher: TokenRefresher
    let registry: ConnectorRegistry
    /// Where the connectors' requests may go (`TRIBUTARY_EGRESS_ALLOW`), and their limits.
    let egress: EgressPolicy
    let limits: ConnectorLimits

    func connector(for integration: Integration, logger: Logger) async throws -> (any Connector, ConnectorContext) {
        let context = ConnectorContext(
            config: integration.config,
            credential: try await credential(for: integration),
            logger: logger,
            egress: egress,
            limits: limits
        )
        guard let connector = try registry.connector(for: integration.provider, context: context) else {
            throw ConnectorError(
                code: "connector_unavailable",
                message: "no connector for provider \(integration.provider) in this build",
                retryable: false
            )
        }
        return (connector, context)
    }

    private func credential(for integration: Integration) async throws -> ConnectorCredential {
        guard let stored = try await store.storedCredential(integrationID: integration.id) else { return .none }
        switch try vault.open(stored) {
        case .apiKey(let key): return .apiKey(key)
        case .oauth2: return .oauth2(RefreshingTokenSource(refresher: refresher, integrationID: integration.id))
        }
    }
}
