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
    let bounds: (egress: EgressPolicy, limits: ConnectorLimits)

    /// `maxAttempts` and `maxResponseBytes` tighten the connectors' limits (a check: one attempt, 1 MiB).
    func connector(
        for integration: Integration,
        logger: Logger,
        maxAttempts: Int? = nil,
        maxResponseBytes: Int? = nil
    ) async throws -> (any Connector, ConnectorContext) {
        var limits = bounds.limits
        if let maxAttempts { limits.maxAttempts = min(max(1, maxAttempts), limits.maxAttempts) }
        if let maxResponseBytes { limits.maxResponseBytes = min(max(1, maxResponseBytes), limits.maxResponseBytes) }
        let context = ConnectorContext(
            config: integration.config,
            credential: try await credential(for: integration),
            logger: logger,
            egress: bounds.egress,
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
        // A credential goes only where it was given for (IntegrationsController drops it when the
        // config moves; this holds even if a row was changed behind the API's back).
        if let binding = stored.binding, binding != CredentialBinding(config: integration.config) {
            throw ConnectorError(
                code: "credential_unbound",
                message: "the credential was given for another base_url or auth placement; give the credential again",
                retryable: false
            )
        }
        switch try vault.open(stored) {
        case .apiKey(let key): return .apiKey(key)
        case .oauth2: return .oauth2(RefreshingTokenSource(refresher: refresher, integrationID: integration.id))
        }
    }
}
