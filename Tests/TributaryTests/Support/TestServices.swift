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
        let client = PostgresClient(configuration: config.database.clientConfiguration(), backgroundLogger: logger)
        let services = Services(postgres: client, keyRing: config.keyRing!, config: config, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(TestServices(store: services.store, flow: services.flow, refresher: services.refresher))
        }
    }
}
