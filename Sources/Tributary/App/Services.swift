import Logging
import PostgresNIO
import TributaryConnectors

/// The services every process builds the same way from its configuration: the store, the
/// vault, the OAuth flow, the token refresher, the connector factory and webhook delivery.
struct Services: Sendable {
    let store: Store
    let flow: OAuthFlow
    let factory: ConnectorFactory
    let catalog: ProviderCatalog
    /// Posts webhook events through the egress policy (the outbox sender and `POST …/test`).
    let webhookDelivery: WebhookDelivery

    var vault: CredentialVault { flow.vault }
    var refresher: TokenRefresher { factory.refresher }

    /// `config` gives the public URL (OAuth redirects), the egress policy and the connector limits.
    /// `refreshes`: `.byParent` in the child processes (run-tasks, checks), whose parent makes their token calls.
    init(
        postgres: PostgresClient,
        keyRing: KeyRing,
        config: AppConfig,
        logger: Logger,
        catalog: ProviderCatalog = .standard,
        refreshes: TokenRefresher.Mode = .here
    ) {
        let store = Store(client: postgres, logger: logger)
        let vault = CredentialVault(keyRing: keyRing)
        let flow = OAuthFlow(
            store: store,
            vault: vault,
            tokenEndpoint: TokenEndpoint(httpClient: ProviderHTTP.client, logger: logger),
            catalog: catalog,
            publicURL: config.publicURL,
            logger: logger
        )
        let refresher = TokenRefresher(store: store, flow: flow, mode: refreshes)
        self.store = store
        self.flow = flow
        self.factory = ConnectorFactory(
            store: store,
            vault: vault,
            refresher: refresher,
            registry: ConnectorRegistry(),
            bounds: (config.egress, config.connectorLimits)
        )
        self.catalog = catalog
        self.webhookDelivery = WebhookDelivery(egress: EgressClient(policy: config.egress), timeout: config.alerting.webhookTimeout)
    }
}
