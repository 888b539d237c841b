import Foundation
import Testing

@testable import Tributary

@Suite("Runs that share a provider account take turns: the account's rate budget is never spent twice")
struct AccountBudgetTests {
    @Test("two integrations with one API key on one provider never run at once; another key runs beside them")
    func sameKeyTakesTurns() async throws {
        let database = try await TestDatabase.create()
        try await TestApp.run(database: database) { client in
            let first = try await client.createTenant()
            let second = try await client.createTenant()
            let config: [String: JSON] = ["base_url": "https://a.klaviyo.com"]
            func klaviyo(_ tenant: String, key: String) async throws -> String {
                try await client.createIntegration(
                    tenant: tenant,
                    IntegrationBody(provider: "klaviyo", name: "K", config: config, credential: .apiKey(key))
                )
            }
            // The same account in two tenants (a key is the account's, whoever holds it), and a second account.
            let shared = [try await klaviyo(first, key: "pk_shared_account"), try await klaviyo(second, key: "pk_shared_account")]
            let other = try await klaviyo(second, key: "pk_another_account")
            try await TestServices.with(client.config, logger: client.logger) { services in
                let limits = ClaimLimits(perTenant: 10, perProvider: 100)
                var claimed: [String] = []
                while let run = try await services.store.claimRun(owner: "test", leaseSeconds: 30, limits: limits) {
                    claimed.append(run.integrationID.lowercased)
                }
                // One of the shared account's, and the other account's; the second shared one waits.
                #expect(claimed.count == 2, "\(claimed)")
                #expect(claimed.filter(shared.contains).count == 1)
                #expect(claimed.contains(other))
                // Once the shared account's run ends, its sibling is claimable.
                let running = try #require(claimed.first(where: shared.contains))
                let ended = try await database.rows(
                    PostgresQueryText(
                        "UPDATE sync_runs SET status = 'succeeded', finished_at = now() WHERE integration_id = '\(running)' RETURNING 1"
                    ),
                    as: Int.self
                )
                #expect(ended == [1])
                let next = try await services.store.claimRun(owner: "test", leaseSeconds: 30, limits: limits)
                #expect(next?.integrationID.lowercased == shared.first { $0 != running })
            }
        }
    }
}
