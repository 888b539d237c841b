import Configuration
import Fakes
import Foundation
import Logging
import PostgresNIO
import Testing
import TributaryConnectors

@testable import Tributary

@Suite("OAuth refresh-token rotation: a refresh token the provider rotated is never lost", .timeLimit(.minutes(3)))
struct TokenRotationTests {
    /// How the supervisor stops the run-task while its refresh is in flight.
    enum Stop: String, CaseIterable, Sendable {
        case cancel, timeout
    }

    /// A Klaviyo integration on `apiPort`, connected through the fake OAuth provider on `oauthPort`.
    static func connectKlaviyo(
        database: TestDatabase,
        oauthPort: Int,
        apiPort: Int,
        provider: FakeOAuthProvider
    ) async throws -> (
        tenant: String, id: String
    ) {
        try await TestApp.run(database: database) { client in
            let tenant = try await client.createTenant()
            let (_, id) = try await OAuthTests.connect(
                client,
                provider: provider,
                port: oauthPort,
                tenant: tenant,
                streams: ["profiles"],
                config: ["base_url": .string("http://127.0.0.1:\(apiPort)")]
            )
            return (tenant, id)
        }
    }

    static func execute(_ database: TestDatabase, _ sql: String) async throws {
        try await TestDatabase.withConnection(to: database.url) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test"))
        }
    }

    /// The refresh token stored for the integration, opened with the test key.
    static func storedRefreshToken(_ database: TestDatabase, integrationID: UUID) async throws -> String? {
        try await TestServices.with(try TestApp.config(database: database), logger: TestApp.testLogger) { services in
            guard let stored = try await services.store.storedCredential(integrationID: integrationID),
                case .oauth2(let tokens) = try services.flow.vault.open(stored)
            else { return nil }
            return tokens.refreshToken
        }
    }

    /// A Klaviyo integration with three profiles, connected through the fake OAuth provider, whose
    /// every issued access token the API accepts (as Klaviyo does its own).
    static func withConnectedKlaviyo(
        _ body:
            @Sendable (_ provider: FakeOAuthProvider, _ database: TestDatabase, _ tenant: String, _ id: String, _ integrationID: UUID)
            async throws -> Void
    ) async throws {
        let provider = FakeOAuthProvider()
        let klaviyo = FakeKlaviyo()
        for index in 0..<3 {
            let updated = Timestamps.format(Date(timeIntervalSinceNow: -Double(index) * 60))
            await klaviyo.add(type: "profile", id: "P\(index)", attributes: ["email": .string("p\(index)@x.test"), "updated": .string(updated)])
        }
        await provider.setOnIssue { token in await klaviyo.acceptBearer(token) }
        try await withFakeServer(provider.router) { oauthPort in
            try await withFakeServer(klaviyo.router) { apiPort in
                let database = try await TestDatabase.create()
                let (tenant, id) = try await Self.connectKlaviyo(database: database, oauthPort: oauthPort, apiPort: apiPort, provider: provider)
                try await body(provider, database, tenant, id, try #require(UUID(uuidString: id)))
            }
        }
    }

    @Test("a run-task stopped while its refresh is in flight keeps the rotated token; the next run uses it", arguments: Stop.allCases)
    func stoppedMidRefresh(_ stop: Stop) async throws {
        try await Self.withConnectedKlaviyo { provider, database, tenant, id, integrationID in
            let runs = "/v1/tenants/\(tenant)/integrations/\(id)/syncs"

            // The first run refreshes ahead of expiry; the provider rotates the refresh token at once and
            // answers 8 s later, long after the supervisor decided to stop the run-task.
            try await Self.execute(database, "UPDATE credentials SET expires_at = now()")
            await provider.setAnswerDelay(.seconds(8))
            let limit: [AbsoluteConfigKey: ConfigValue] = stop == .timeout ? ["tributary.run.timeout.seconds": "5"] : [:]
            try await TestApp.run(extra: limit, database: database, worker: true) { client in
                try await WorkerTests.waitUntil(timeout: .seconds(60)) { await provider.issuedRefreshTokens.count == 2 }
                let first = try #require(try await client.send(.get, runs).decode(ListOf<RunView>.self).data.first)
                #expect(first.status == "running")
                if stop == .cancel {
                    #expect(try await client.send(.post, "\(runs)/\(first.id)/cancel").status.code < 300)
                }
                // The first attempt ends: cancelled, or timed out (and queued again, or already retried).
                try await WorkerTests.waitUntil(timeout: .seconds(90)) {
                    let run = try await client.send(.get, "\(runs)/\(first.id)").decode(RunView.self)
                    return run.hasEnded || run.attempt > 1
                }
                let ended = try await client.send(.get, "\(runs)/\(first.id)").decode(RunView.self)
                // Cancelled; or, when the run-task finished its few records in the moment between storing the
                // tokens and the supervisor's next look, succeeded.
                if stop == .cancel { #expect(["cancelled", "succeeded"].contains(ended.status), "\(ended)") }
            }
            #expect(try await Self.storedRefreshToken(database, integrationID: integrationID) == provider.issuedRefreshTokens.last)
            #expect(try await database.rows("SELECT status FROM integrations", as: String.self) == ["active"])

            // The next run refreshes again, with the rotated token, and syncs. A retry of the first run
            // may still be queued or running (it needs no refresh: the rotated tokens are fresh); it
            // ends first, then the token is made due and a new run started.
            await provider.setAnswerDelay(.zero)
            try await TestApp.run(database: database, worker: true) { client in
                if let pending = try await client.send(.get, runs).decode(ListOf<RunView>.self).data.first(where: { !$0.hasEnded }) {
                    _ = try await client.waitForRun(tenant: tenant, integration: id, runID: pending.id, timeout: .seconds(90))
                }
                #expect(await provider.refreshRequests == 1)
                try await Self.execute(database, "UPDATE credentials SET expires_at = now()")
                let runID = try await client.send(.post, runs).decode(RunView.self).id
                let run = try await client.waitForRun(tenant: tenant, integration: id, runID: runID, timeout: .seconds(90))
                #expect(run.status == "succeeded", "\(run)")
                let integration = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").decode(IntegrationView.self)
                #expect(integration.status == "active")
                #expect(try await client.allRecords(tenant: tenant, integration: id).records.count == 3)
            }
            let refreshes = await provider.refreshRequests
            #expect(refreshes == 2)
            #expect(try await Self.storedRefreshToken(database, integrationID: integrationID) == provider.issuedRefreshTokens.last)
        }
    }

    @Test("kill -9 of a run-task while its refresh is in flight: the worker makes the call and keeps the rotated token")
    func killedMidRefresh() async throws {
        try await Self.withConnectedKlaviyo { provider, database, tenant, id, integrationID in
            let runs = "/v1/tenants/\(tenant)/integrations/\(id)/syncs"

            // The run's token is due: the provider rotates the refresh token at once and answers 5 s later.
            try await Self.execute(database, "UPDATE credentials SET expires_at = now()")
            await provider.setAnswerDelay(.seconds(5))
            try await TestApp.run(database: database, worker: true) { client in
                try await WorkerTests.waitUntil(timeout: .seconds(60)) { await provider.issuedRefreshTokens.count == 2 }
                let first = try #require(try await client.send(.get, runs).decode(ListOf<RunView>.self).data.first)
                // The run-task waits for the answer; it dies before the answer comes.
                let killed = tributaryProcesses(["run-task", first.id])
                try #require(killed.count == 1, "one run-task for the run: \(killed)")
                #expect(kill(killed[0], SIGKILL) == 0)
                let run = try await client.waitForRun(tenant: tenant, integration: id, runID: first.id, timeout: .seconds(90))
                #expect(run.status == "succeeded", "the retry uses the tokens the worker stored: \(run)")
                #expect(run.attempt == 2)
                #expect(try await client.allRecords(tenant: tenant, integration: id).records.count == 3)
            }
            #expect(await provider.refreshRequests == 1, "one token call, made by the worker, not repeated by the retry")
            #expect(try await Self.storedRefreshToken(database, integrationID: integrationID) == provider.issuedRefreshTokens.last)
            #expect(try await database.rows("SELECT status FROM integrations", as: String.self) == ["active"])
        }
    }

    /// An OAuth-connected integration and the services of a process of Tributary's own, for calls to
    /// the refresher as a parent process makes them.
    static func withOAuthServices(
        _ body: @Sendable (_ provider: FakeOAuthProvider, _ client: TestClient, _ services: TestServices, _ integrationID: UUID) async throws -> Void
    ) async throws {
        let provider = FakeOAuthProvider()
        try await withFakeServer(provider.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let (_, id) = try await OAuthTests.connect(client, provider: provider, port: port, tenant: tenant)
                let integrationID = try #require(UUID(uuidString: id))
                try await TestServices.with(client.config, logger: client.logger) { services in
                    try await body(provider, client, services, integrationID)
                }
            }
        }
    }

    @Test("a parent serving its child's refreshes stops when told, after storing the answer to a call under way")
    func servingStops() async throws {
        try await Self.withOAuthServices { provider, client, services, integrationID in
            // Nothing asked: the parent's watch decides to stop, and serving ends with it.
            let idle = await services.refresher.serving(integrationID: integrationID) { "stopped" }
            #expect(idle == "stopped")

            // A child asks (naming the token it holds), and the provider takes 3 s to answer; the
            // watch decides to stop while the call is under way.
            let held = try await services.refresher.accessToken(integrationID: integrationID)
            _ = try await services.store.requestRefresh(integrationID: integrationID, rejected: TokenRefresher.digest(held))
            await provider.setAnswerDelay(.seconds(3))
            let stop = await services.refresher.serving(integrationID: integrationID) {
                try? await WorkerTests.waitUntil(timeout: .seconds(30)) { await provider.refreshRequests == 1 }
                return "stopped"
            }
            #expect(stop == "stopped")
            // Returned only once the rotated token was stored and the request counted served.
            #expect(try await Self.storedRefreshToken(client.database, integrationID: integrationID) == provider.issuedRefreshTokens.last)
            let pending = try await services.store.pendingRefresh(integrationID: integrationID)
            #expect(pending == nil)
            #expect(try await services.refresher.accessToken(integrationID: integrationID) != held)
            #expect(await provider.refreshRequests == 1)
        }
    }

    @Test("the first write of the new tokens fails: it is retried, and the rotated token kept")
    func writeRetried() async throws {
        let provider = FakeOAuthProvider()
        try await withFakeServer(provider.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let (path, id) = try await OAuthTests.connect(client, provider: provider, port: port, tenant: tenant)
                let integrationID = try #require(UUID(uuidString: id))
                // The first statement that writes a credential's secret fails as a transient failure does
                // (serialization_failure, 40001; the sequence is not rolled back with it): nothing of it commits.
                try await Self.execute(client.database, "CREATE SEQUENCE secret_writes")
                try await Self.execute(
                    client.database,
                    """
                    CREATE FUNCTION drop_first_secret_write() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF nextval('secret_writes') = 1 THEN
                            RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
                        END IF;
                        RETURN NEW;
                    END $$
                    """
                )
                try await Self.execute(
                    client.database,
                    "CREATE TRIGGER drop_first_secret_write BEFORE UPDATE OF secret ON credentials FOR EACH ROW EXECUTE FUNCTION drop_first_secret_write()"
                )
                try await TestServices.with(client.config, logger: client.logger) { services in
                    let rejected = try await services.refresher.accessToken(integrationID: integrationID)
                    await provider.expireAccessTokens()
                    let fresh = try? await services.refresher.accessToken(integrationID: integrationID, rejected: rejected)
                    #expect(fresh != nil, "the refresh survives its first write failing")
                    #expect(await provider.isValidAccessToken(fresh ?? ""))
                    #expect(try await client.database.rows("SELECT last_value FROM secret_writes", as: Int.self) == [2])
                    #expect(try await Self.storedRefreshToken(client.database, integrationID: integrationID) == provider.issuedRefreshTokens.last)

                    // The stored refresh token is the live one: the next refresh passes.
                    let next = try await services.refresher.accessToken(integrationID: integrationID, rejected: fresh ?? rejected)
                    #expect(await provider.isValidAccessToken(next))
                }
                let refreshes = await provider.refreshRequests
                #expect(refreshes == 2)
                #expect(try await client.send(.get, path).decode(IntegrationView.self).status == "active")
                let refreshed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=oauth.refreshed")
                #expect(try refreshed.decode(ListOf<ActivityView>.self).data.count == 2, "one entry per stored refresh, none for the lost write")
            }
        }
    }

    @Test("a refresh lease whose holder died is taken over once it lapses; a live one is waited for")
    func lapsedLease() async throws {
        try await Self.withOAuthServices { provider, client, services, integrationID in
            let rejected = try await services.refresher.accessToken(integrationID: integrationID)
            await provider.expireAccessTokens()
            // A process that claimed the lease and died: nobody releases it.
            try await Self.execute(
                client.database,
                "UPDATE credentials SET refresh_owner = 'refresh:gone:1:dead', refresh_until = now() + interval '2 seconds'"
            )
            let started = ContinuousClock.now
            let fresh = try await services.refresher.accessToken(integrationID: integrationID, rejected: rejected)
            #expect(ContinuousClock.now - started >= .milliseconds(1500), "the live lease was waited for")
            #expect(await provider.isValidAccessToken(fresh))
            #expect(try await client.database.rows("SELECT count(*) FROM credentials WHERE refresh_until > now()", as: Int.self) == [0])
            let refreshes = await provider.refreshRequests
            #expect(refreshes == 1)
        }
    }
}
