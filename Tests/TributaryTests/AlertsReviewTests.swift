import Foundation
import PostgresNIO
import Testing

@testable import Tributary

/// Attacks on issue 10's alerts and webhooks found in review, each through the real server.
@Suite("Alerts and webhooks under attack (review)")
struct AlertsReviewTests {
    @Test("a webhook URL with a port past 65535 is refused at creation, and one already stored fails its delivery without a crash")
    func portOutOfRange() async throws {
        try await TestApp.run(extra: alertingSettings()) { client in
            let tenant = try await client.createTenant()
            let path = "/v1/tenants/\(tenant)/webhooks"
            for url in ["http://8.8.8.8:99999/hook", "https://8.8.8.8:65536/hook", "http://8.8.8.8:0/hook", "http://x.test:4294967297/"] {
                let reply = try await client.send(.post, path, json: #"{"url":"\#(url)","events":["sync.failed"]}"#)
                #expect(reply.status == .unprocessableContent && reply.errorFields == ["url"], "\(url)")
            }
            // A row written before this check (or by hand): the egress client refuses it itself.
            let webhook = try await client.createWebhook(tenant: tenant, url: "http://8.8.8.8/hook", events: ["sync.failed"])
            _ = try await client.database.rows(
                PostgresQueryText("UPDATE webhooks SET url = 'http://8.8.8.8:99999/hook' WHERE id = '\(webhook.id)' RETURNING 1"),
                as: Int.self
            )
            let ping = try await client.send(.post, "\(path)/\(webhook.id)/test")
            #expect(ping.status == .ok)
            let result = try ping.decode(WebhookTestView.self)
            #expect(!result.delivered && result.status == nil && result.error?.contains("port") == true)
            #expect(try await client.send(.get, "/healthz").status == .ok)
        }
    }

    @Test("keys rotate re-seals webhook secrets: with the new key alone, deliveries still verify under the secret shown once")
    func rotationResealsWebhookSecrets() async throws {
        let database = try await TestDatabase.create()
        let receiver = try await WebhookReceiver.start(answers: [], fallback: 200)
        let (path, secret) = try await TestApp.run(extra: alertingSettings(), database: database) { client in
            let tenant = try await client.createTenant()
            let webhook = try await client.createWebhook(tenant: tenant, url: receiver.url, events: ["alert.raised"])
            return ("/v1/tenants/\(tenant)/webhooks/\(webhook.id)", try #require(webhook.secret))
        }
        let keyIDs = "SELECT key_id FROM webhooks"
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k1"])
        let rotating = ChildProcess.environment(database, keys: "\(TestApp.key2),\(TestApp.key1)", logLevel: "warning")
        let rotated = try await ChildProcess.run(["keys", "rotate"], environment: rotating)
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(!rotated.output.contains(secret))
        #expect(try await database.rows(PostgresQueryText(keyIDs), as: String.self) == ["k2"])

        var onlyK2 = alertingSettings()
        onlyK2["tributary.encryption.keys"] = .init(.string(TestApp.key2), isSecret: true)
        try await TestApp.run(extra: onlyK2, database: database) { client in
            let ping = try await client.send(.post, "\(path)/test").decode(WebhookTestView.self)
            #expect(ping.delivered && ping.status == 200)
            let received = try #require(await receiver.received().last)
            #expect(try await StandardWebhooksCheck.verify(received, secret: secret))
            #expect(StandardWebhooksCheck.verifyTributarySignature(received, secret: secret))
        }
        try await receiver.stop()
    }

    @Test("volume counts by UTC day even when the database's time zone is not UTC (the first day's early runs included)")
    func volumeInUTCWhateverTheSessionZone() async throws {
        let database = try await TestDatabase.create()
        _ = try await database.rows(
            PostgresQueryText(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'America/Los_Angeles'); END $$"
            ),
            as: Int.self
        )
        try await TestApp.run(database: database, worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await client.demoIntegration(tenant: tenant, config: ["records_per_run": 100])
            try await client.runSyncs(tenant: tenant, integration: id, count: 1)
            // The manual run finished at 01:00 UTC two days ago: 17:00 the day before in Los Angeles.
            _ = try await client.database.rows(
                PostgresQueryText(
                    """
                    UPDATE sync_runs SET finished_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                        - interval '2 days' + interval '1 hour'
                    WHERE trigger <> 'initial' RETURNING 1
                    """
                ),
                as: Int.self
            )
            let days = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/volume?days=3").decode(ListOf<VolumeView>.self).data
            #expect(days.map(\.records) == [100, 0, 0], "\(days)")
            let expectedFirst = try await database.rows(
                PostgresQueryText("SELECT to_char((now() AT TIME ZONE 'UTC')::date - 2, 'YYYY-MM-DD')"),
                as: String.self
            )
            #expect(days.first?.date == expectedFirst.first)
        }
    }
}

extension AlertsReviewTests {
    @Test("SIGTERM ends an idle outbox sender's wait at once, however long TRIBUTARY_OUTBOX_INTERVAL_MS is")
    func senderStopsPromptly() async throws {
        let database = try await TestDatabase.create()
        let (child, _, ready) = try await ChildProcess.startServer(
            database,
            worker: true,
            readyPath: "/readyz",
            extra: ["TRIBUTARY_OUTBOX_INTERVAL_MS": "600000", "TRIBUTARY_SCHEDULER_INTERVAL_MS": "200"]
        )
        #expect(ready)
        try await Task.sleep(for: .seconds(1))
        let pid = child.processIdentifier
        let started = ContinuousClock.now
        child.terminate()
        // Past the bound the process is killed, so a regression fails rather than hangs.
        let guardTask = Task {
            try await Task.sleep(for: .seconds(30))
            kill(pid, SIGKILL)
        }
        let result = await child.finish()
        guardTask.cancel()
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(result.status == 0, "\(result.output)")
    }
}
