import Fakes
import Foundation
import PostgresNIO
import Testing
import TributaryConnectors

@testable import Tributary

@Suite("Auto-pause after persistent failure, and a refused credential stops the schedule at once")
struct AutoPauseTests {
    /// The integration as the API shows it.
    static func integration(_ client: TestClient, tenant: String, id: String) async throws -> IntegrationView {
        let reply = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)")
        guard reply.status == .ok else {
            throw TestSetupError("GET integration answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        }
        return try reply.decode(IntegrationView.self)
    }

    /// The next run, ended: one asked for now, or the one the scheduler queued first (a resumed
    /// integration, or one with a new credential, is due at once, and the tick may come first).
    static func nextRun(_ client: TestClient, tenant: String, id: String) async throws -> RunView {
        let started = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
        let runID = started.status == .accepted ? try started.decode(RunView.self).id : started.raw["run_id"]?.string
        #expect(started.status == .accepted || started.status == .conflict, "\(started.status)")
        return try await client.waitForRun(tenant: tenant, integration: id, runID: try #require(runID))
    }

    /// The alert email Tributary would send for `alert`, as text.
    static func email(_ client: TestClient, alert: String) async throws -> (subject: String, text: String) {
        try await TestServices.with(client.config, logger: client.logger) { services in
            let alertID = try #require(UUID(uuidString: alert))
            let content = try #require(try await services.store.alertEmailContent(alertID: alertID))
            let message = AlertEmail.compose(content, from: "tributary@localhost.localdomain", to: ["ops@acme.test"], messageID: "<t@x>")
            return (message.subject, message.text)
        }
    }

    @Test(
        "after auto_pause.consecutive_failures failed runs the integration is paused (persistent_failure), says so in an alert, and a PATCH resumes it with the streak forgotten"
    )
    func pausesAfterConsecutiveFailures() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            // Run 2 fails after its first batch, and so does each run after it (each a batch further on).
            let id = try await client.demoIntegration(
                tenant: tenant,
                config: ["records_per_run": 100, "batch_size": 10, "fail_on_run": 2],
                settings: #"{"sync_failures": {"consecutive_failures": 2}, "auto_pause": {"consecutive_failures": 3}}"#
            )
            let first = try await client.runSyncs(tenant: tenant, integration: id, count: 2)
            #expect(first.map(\.status) == ["failed", "failed"])
            #expect(try await Self.integration(client, tenant: tenant, id: id).status == "active")
            #expect(try await client.alerts(tenant: tenant).map(\.kind) == ["sync_failures"])

            let third = try await client.runSyncs(tenant: tenant, integration: id, count: 1)
            #expect(third.map(\.status) == ["failed"])
            let paused = try await Self.integration(client, tenant: tenant, id: id)
            #expect(paused.status == "paused" && paused.pausedReason == "persistent_failure" && paused.nextSyncAt == nil, "\(paused)")

            let alerts = try await client.alerts(tenant: tenant)
            #expect(alerts.map(\.kind) == ["sync_failures", "sync_failures"])
            let pause = try #require(alerts.first)
            #expect(pause.details["paused"] == true && pause.details["reason"] == "persistent_failure", "\(pause.details)")
            #expect(pause.observed == 3 && pause.threshold == 3 && pause.runID == third.first?.id)
            #expect(alerts.last?.details["paused"] == nil)
            let email = try await Self.email(client, alert: pause.id)
            #expect(email.subject.hasPrefix("Paused Main demo: 3 failures in a row"), "\(email.subject)")
            #expect(email.text.contains("Tributary paused the integration (auto_pause)"), "\(email.text)")
            #expect(email.text.contains(#"{"status":"active"}"#))

            let entries = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=integration.paused").decode(ListOf<ActivityView>.self)
                .data
            #expect(entries.count == 1)
            #expect(entries.first?.actor.type == "system" && entries.first?.severity == "critical")
            #expect(entries.first?.details["reason"] == "persistent_failure" && entries.first?.details["consecutive_failures"] == 3)

            // A paused integration synced by hand and failing stays paused, and raises no new pause.
            #expect(try await client.runSyncs(tenant: tenant, integration: id, count: 1).map(\.status) == ["failed"])
            #expect(try await Self.integration(client, tenant: tenant, id: id).pausedReason == "persistent_failure")
            #expect(try await client.alerts(tenant: tenant).count == 2)

            try await client.patchIntegration(tenant: tenant, integration: id, #"{"status": "active"}"#)
            let resumed = try await Self.integration(client, tenant: tenant, id: id)
            #expect(resumed.status == "active" && resumed.pausedReason == nil, "\(resumed)")
            // The next failure starts a new streak: with the old one (5) it would be failing, and paused.
            #expect(try await Self.nextRun(client, tenant: tenant, id: id).status == "failed")
            let after = try await Self.integration(client, tenant: tenant, id: id)
            #expect(after.status == "active" && after.pausedReason == nil, "\(after)")
        }
    }

    @Test("after auto_pause.failing_days of failing without a success the integration is paused, however few its runs")
    func pausesAfterFailingDays() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await client.demoIntegration(
                tenant: tenant,
                config: ["records_per_run": 100, "batch_size": 10, "fail_on_run": 2],
                settings: #"{"auto_pause": {"consecutive_failures": 1000, "failing_days": 2}}"#
            )
            #expect(try await client.runSyncs(tenant: tenant, integration: id, count: 1).map(\.status) == ["failed"])
            #expect(try await Self.integration(client, tenant: tenant, id: id).status == "active")
            let integrationID = try #require(UUID(uuidString: id))
            // The streak began three days ago, as far as Postgres knows.
            let moved = try await client.database.rows(
                "UPDATE integrations SET failing_since = failing_since - interval '3 days' WHERE id = \(integrationID) AND failing_since IS NOT NULL RETURNING 1",
                as: Int.self
            )
            #expect(moved == [1])
            #expect(try await client.runSyncs(tenant: tenant, integration: id, count: 1).map(\.status) == ["failed"])
            let paused = try await Self.integration(client, tenant: tenant, id: id)
            #expect(paused.status == "paused" && paused.pausedReason == "persistent_failure", "\(paused)")
            let entry = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=integration.paused").decode(ListOf<ActivityView>.self).data
                .first
            #expect(entry?.details["consecutive_failures"] == 2 && entry?.details["failing_days"] == 3, "\(String(describing: entry?.details))")

            // Off: failing on never pauses.
            let put = try await client.send(
                .put,
                "/v1/tenants/\(tenant)/integrations/\(id)/alert-settings",
                json: #"{"auto_pause": {"enabled": false, "failing_days": 2}}"#
            )
            #expect(put.status == .ok)
            #expect(put.raw["auto_pause"]?["enabled"] == false && put.raw["auto_pause"]?["consecutive_failures"] == 20)
            try await client.patchIntegration(tenant: tenant, integration: id, #"{"status": "active"}"#)
            _ = try await client.database.rows(
                "UPDATE integrations SET failing_since = now() - interval '30 days', consecutive_failures = 50 WHERE id = \(integrationID) RETURNING 1",
                as: Int.self
            )
            #expect(try await Self.nextRun(client, tenant: tenant, id: id).status == "failed")
            let failing = try await Self.integration(client, tenant: tenant, id: id)
            #expect(failing.status == "failing" && failing.pausedReason == nil, "\(failing)")

            for (json, field) in [
                (#"{"auto_pause": {"failing_days": 0}}"#, "auto_pause.failing_days"),
                (#"{"auto_pause": {"failing_days": 366}}"#, "auto_pause.failing_days"),
                (#"{"auto_pause": {"consecutive_failures": 0}}"#, "auto_pause.consecutive_failures"),
            ] {
                let reply = try await client.send(.put, "/v1/tenants/\(tenant)/integrations/\(id)/alert-settings", json: json)
                #expect(reply.status == .unprocessableContent && reply.errorFields == [field], "\(json)")
            }
        }
    }

    @Test("a revoked API key: the first run it fails makes the integration reauthorization_required, no retry, one alert; a new key resumes it")
    func revokedKey() async throws {
        let fake = FakeKlaviyo(apiKey: "pk_live_before")
        await fake.add(
            type: "profile",
            id: "P1",
            attributes: ["email": "p1@x.test", "updated": .string(Timestamps.format(Date().addingTimeInterval(-60)))]
        )
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.klaviyoIntegration(tenant: tenant, port: port, key: "pk_live_before", streams: ["profiles"])
                #expect(try await client.waitForRun(tenant: tenant, integration: id).status == "succeeded")

                await fake.replaceKey(with: "pk_live_after")
                let failed = try await client.syncAndWait(tenant: tenant, integration: id).run
                #expect(failed.status == "failed" && failed.attempt == 1 && failed.error?.code == "credential_rejected", "\(failed)")
                let stopped = try await Self.integration(client, tenant: tenant, id: id)
                #expect(stopped.status == "reauthorization_required" && stopped.nextSyncAt == nil, "\(stopped)")
                let alerts = try await client.alerts(tenant: tenant)
                #expect(alerts.map(\.kind) == ["reauthorization_required"])
                let email = try await Self.email(client, alert: try #require(alerts.first).id)
                #expect(email.subject.contains("refused its credential"), "\(email.subject)")
                #expect(email.text.contains("/credential"), "\(email.text)")
                #expect(!email.text.contains("pk_live"))
                let entry = try await client.send(.get, "/v1/tenants/\(tenant)/activity?severity=critical").decode(ListOf<ActivityView>.self).data
                #expect(entry.map(\.action).contains("credential.rejected"), "\(entry.map(\.action))")
                // Nothing more runs on the dead key, by hand or on schedule.
                #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").status == .conflict)

                let put = try await client.send(
                    .put,
                    "/v1/tenants/\(tenant)/integrations/\(id)/credential",
                    body: CredentialBody.apiKey("pk_live_after")
                )
                #expect(put.status == .ok)
                #expect(try await Self.integration(client, tenant: tenant, id: id).status == "active")
                let next = try await Self.nextRun(client, tenant: tenant, id: id)
                #expect(next.status == "succeeded", "\(next)")
                #expect(try await client.alerts(tenant: tenant).count == 1)
            }
        }
    }
}
