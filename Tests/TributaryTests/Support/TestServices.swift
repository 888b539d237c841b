import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import TributaryConnectors

@testable import Tributary

/// The library's services on a test's database, for what the API does not expose (token refresh,
/// key rotation), running beside the application as another process would.
struct TestServices: Sendable {
    let store: Store
    let flow: OAuthFlow
    let refresher: TokenRefresher

    static func with<T: Sendable>(
        _ config: AppConfig,
        logger: Logger,
        _ body: @Sendable (TestServices) async throws -> T
    ) async throws -> T {
        try await withPostgres(config: config, logger: logger) { client in
            let services = Services(postgres: client, keyRing: config.keyRing!, config: config, logger: logger)
            return try await body(TestServices(store: services.store, flow: services.flow, refresher: services.refresher))
        }
    }
}
