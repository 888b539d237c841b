import Foundation
import PostgresNIO
import Testing

@testable import Tributary

extension TestClient {
    /// Creates a demo integration with `config` (only the `contacts` stream), waits for its
    /// initial run, and puts `settings` (JSON) as its alert settings when given.
    func demoIntegration(tenant: String, name: String = "Main demo", config: [String: JSON], settings: String? = nil) async throws -> String {
        let id = try await createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: name, streams: ["contacts"], config: config))
        let initial = try await waitForRun(tenant: tenant, integration: id)
        #expect(initial.trigger == "initial" && initial.status == "succeeded")
        if let settings {
            let reply = try await send(.put, "/v1/tenants/\(tenant)/integrations/\(id)/alert-settings", json: settings)
            #expect(reply.status == .ok)
        }
        return id
    }

    /// `count` manual runs one after another; their statuses.
    @discardableResult
    func runSyncs(tenant: String, integration: String, count: Int) async throws -> [RunView] {
        var runs: [RunView] = []
        for _ in 0..<count { runs.append(try await syncAndWait(tenant: tenant, integration: integration).run) }
        return runs
    }

    func alerts(tenant: String, _ query: String = "") async throws -> [AlertView] {
        let reply = try await send(.get, "/v1/tenants/\(tenant)/alerts\(query.isEmpty ? "" : "?" + query)")
        #expect(reply.status == .ok)
        return try reply.decode(ListOf<AlertView>.self).data
    }

    func patchIntegration(tenant: String, integration: String, _ json: String) async throws {
        let reply = try await send(.patch, "/v1/tenants/\(tenant)/integrations/\(integration)", json: json)
        #expect(reply.status == .ok, "PATCH answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
    }
}

@Suite("Alert detection: data spikes, daily limits and failure streaks, judged as runs end")
struct AlertDetectionTests {
    @Test("steady runs then a jump: exactly one data_spike, with its baseline and threshold; the next run raises none")
    func spikeAfterSteadyRuns() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            // Run 1 is the historical one; runs 2–4 make the baseline; run 5 is twenty times larger.
            let id = try await client.demoIntegration(
                tenant: tenant,
                config: ["records_per_run": 100, "spike_run": 5, "spike_multiplier": 20],
                settings: #"{"data_spike":{"baseline_runs":3}}"#
            )
            try await client.runSyncs(tenant: tenant, integration: id, count: 3)
            #expect(try await client.alerts(tenant: tenant).isEmpty)
            let spiking = try await client.runSyncs(tenant: tenant, integration: id, count: 1)[0]
            #expect(spiking.streams["contacts"]?.recordsUpserted == 2000)

            let alerts = try await client.alerts(tenant: tenant)
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert.kind == "data_spike" && alert.integrationID == id && alert.stream == "contacts")
            #expect(alert.observed == 2000 && alert.baseline == 100 && alert.threshold == 300)
            #expect(alert.runID == spiking.id)
            #expect(alert.delivery.email == "pending")

            try await client.runSyncs(tenant: tenant, integration: id, count: 1)
            #expect(try await client.alerts(tenant: tenant).count == 1)
            let raised = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=alert.raised").decode(ListOf<ActivityView>.self)
            #expect(raised.data.map { $0.details["alert_id"] } == [.string(alert.id)])
            #expect(try await client.alerts(tenant: tenant, "kind=daily_limit_exceeded").isEmpty)
            #expect(try await client.alerts(tenant: tenant, "kind=data_spike&integration_id=\(id)").count == 1)
        }
    }

    @Test("a steady integration with ±30 % noise over 20 runs raises nothing")
    func noiseRaisesNothing() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await client.demoIntegration(tenant: tenant, config: ["records_per_run": 1500])
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let volume = Int(1500 * Double.random(in: 0.7...1.3, using: &generator))
                try await client.patchIntegration(tenant: tenant, integration: id, #"{"config":{"records_per_run":\#(volume)}}"#)
                let run = try await client.syncAndWait(tenant: tenant, integration: id).run
                #expect(run.status == "succeeded" && run.streams["contacts"]?.recordsUpserted == volume)
            }
            #expect(try await client.alerts(tenant: tenant).isEmpty)
            // The runs were judged (not skipped): all 20 are comparable.
            let comparable = try await client.database.rows(
                PostgresQueryText("SELECT count(*) FROM sync_runs WHERE volume_comparable AND integration_id = '\(id)'"),
                as: Int.self
            )
            #expect(comparable == [20])
        }
    }

    @Test("runs while paused and the first run after a pause are neither judged nor a baseline; judging resumes after them")
    func runAfterPauseIsNotJudged() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await client.demoIntegration(
                tenant: tenant,
                config: ["records_per_run": 100, "spike_run": 5, "spike_multiplier": 20],
                settings: #"{"data_spike":{"baseline_runs":3}}"#
            )
            let baseline = try await client.runSyncs(tenant: tenant, integration: id, count: 3)
            try await client.patchIntegration(tenant: tenant, integration: id, #"{"status":"paused"}"#)
            // Run 5 spikes, on demand while paused: its window is not an ordinary one.
            let whilePaused = try await client.runSyncs(tenant: tenant, integration: id, count: 1)[0]
            #expect(whilePaused.streams["contacts"]?.recordsUpserted == 2000)
            #expect(try await client.alerts(tenant: tenant).isEmpty)

            // Resumed, the scheduler queues run 6 at once: the first after the pause, not comparable either.
            try await client.patchIntegration(
                tenant: tenant,
                integration: id,
                #"{"config":{"records_per_run":100,"spike_run":7,"spike_multiplier":20}}"#
            )
            try await client.patchIntegration(tenant: tenant, integration: id, #"{"status":"active"}"#)
            var afterPause: RunView?
            try await WorkerTests.waitUntil(timeout: .seconds(60)) {
                let runs = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").decode(ListOf<RunView>.self).data
                afterPause = runs.count == 6 && runs[0].hasEnded ? runs[0] : nil
                return afterPause != nil
            }
            #expect(afterPause?.trigger == "schedule" && afterPause?.status == "succeeded")
            #expect(try await client.alerts(tenant: tenant).isEmpty)

            // Run 7 spikes and is judged, against runs 2–4.
            let judged = try await client.runSyncs(tenant: tenant, integration: id, count: 1)[0]
            let alerts = try await client.alerts(tenant: tenant)
            #expect(alerts.count == 1)
            #expect(alerts.first?.runID == judged.id && alerts.first?.baseline == 100 && alerts.first?.observed == 2000)
            let comparable = try await client.database.rows(
                PostgresQueryText("SELECT id::text FROM sync_runs WHERE integration_id = '\(id)' AND volume_comparable ORDER BY finished_at"),
                as: String.self
            )
            #expect(comparable == baseline.map(\.id) + [judged.id])
        }
    }

    @Test("the daily limit: one alert, the integration paused, the crossing run's data kept, nothing raised again that day")
    func dailyLimitPauses() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let id = try await client.demoIntegration(
                tenant: tenant,
                config: ["records_per_run": 100],
                settings: #"{"data_spike":{"daily_limit":250,"pause_on_daily_limit":true}}"#
            )
            // The initial run's 100 do not count; 100, 200, then 300 > 250.
            let runs = try await client.runSyncs(tenant: tenant, integration: id, count: 3)
            #expect(runs.map(\.status) == ["succeeded", "succeeded", "succeeded"])
            let alerts = try await client.alerts(tenant: tenant)
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert.kind == "daily_limit_exceeded" && alert.observed == 300 && alert.threshold == 250)
            #expect(alert.runID == runs[2].id && alert.details["paused"] == .bool(true))

            let integration = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)").decode(IntegrationView.self)
            #expect(integration.status == "paused")
            let records = try await client.allRecords(tenant: tenant, integration: id).records
            #expect(records.count == 400)
            let paused = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=integration.paused").decode(ListOf<ActivityView>.self)
            #expect(paused.data.count == 1 && paused.data.first?.actor.type == "system")

            // A manual run of the paused integration still loads, and the day's alert is not raised again.
            let more = try await client.runSyncs(tenant: tenant, integration: id, count: 1)
            #expect(more.first?.status == "succeeded")
            #expect(try await client.alerts(tenant: tenant).count == 1)

            let volume = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/volume?days=3").decode(ListOf<VolumeView>.self).data
            #expect(volume.count == 3 && volume.last?.records == 400 && volume.prefix(2).allSatisfy { $0.records == 0 })
        }
    }

    @Test("three failed runs in a row: one sync_failures alert for the streak, not one per failure")
    func failureStreak() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            // Run 2 fails after its first batch and never gets past it: every later run fails too.
            let id = try await client.demoIntegration(tenant: tenant, config: ["records_per_run": 100, "batch_size": 10, "fail_on_run": 2])
            let runs = try await client.runSyncs(tenant: tenant, integration: id, count: 4)
            #expect(runs.map(\.status) == Array(repeating: "failed", count: 4))
            let alerts = try await client.alerts(tenant: tenant)
            #expect(alerts.count == 1)
            #expect(alerts.first?.kind == "sync_failures" && alerts.first?.observed == 3 && alerts.first?.threshold == 3)
            #expect(alerts.first?.runID == runs[2].id)
            guard case .object(let error)? = alerts.first?.details["error"] else {
                Issue.record("the alert carries no error")
                return
            }
            #expect(error["code"] == .string("demo_failure"))
        }
    }
}

@Suite("Alert settings and volume through the API")
struct AlertSettingsTests {
    @Test("defaults, a partial PUT, 422 per field, another tenant's integration 404")
    func settingsAPI() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let id = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D", status: "paused"))
            let path = "/v1/tenants/\(tenant)/integrations/\(id)/alert-settings"
            #expect(try await client.send(.get, path).decode(AlertSettingsView.self) == .defaults)

            let put = try await client.send(.put, path, json: #"{"data_spike":{"daily_limit":5000,"pause_on_daily_limit":true}}"#)
            var expected = AlertSettingsView.defaults
            expected.dataSpike.dailyLimit = 5000
            expected.dataSpike.pauseOnDailyLimit = true
            #expect(put.status == .ok)
            #expect(try put.decode(AlertSettingsView.self) == expected)
            #expect(try await client.send(.get, path).decode(AlertSettingsView.self) == expected)
            #expect(try await client.send(.get, path).raw["data_spike"]?["daily_limit"] == .int(5000))

            let bad = try await client.send(
                .put,
                path,
                json:
                    #"{"data_spike":{"threshold_percent":0,"min_records":-1,"baseline_runs":1000,"daily_limit":0},"sync_failures":{"consecutive_failures":0}}"#
            )
            #expect(bad.status == .unprocessableContent)
            #expect(
                Set(bad.errorFields) == [
                    "data_spike.threshold_percent", "data_spike.min_records", "data_spike.baseline_runs", "data_spike.daily_limit",
                    "sync_failures.consecutive_failures",
                ]
            )
            let mistyped = try await client.send(.put, path, json: #"{"data_spike":{"threshold_percent":"lots"}}"#)
            #expect(mistyped.status == .unprocessableContent && mistyped.errorFields == ["data_spike.threshold_percent"])
            let huge = try await client.send(.put, path, json: #"{"data_spike":{"min_records":1e300}}"#)
            // Valid JSON, but a number no integer holds: a value that does not fit its field.
            #expect(huge.status == .unprocessableContent)
            #expect(try await client.send(.get, path).decode(AlertSettingsView.self) == expected)

            let other = try await client.createTenant("Other")
            let key = try await client.createKey(tenant: other).key
            #expect(try await client.send(.get, path, as: .token(key)).status == .notFound)
            #expect(try await client.send(.put, path, as: .token(key), json: "{}").status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/volume", as: .token(key)).status == .notFound)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/alerts", as: .token(key)).status == .notFound)
        }
    }

    @Test("volume: 30 zero days by default for every stream, ?days bounded")
    func volumeAPI() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let id = try await client.createIntegration(
                tenant: tenant,
                IntegrationBody(provider: "demo", name: "D", streams: ["contacts", "lists"], status: "paused")
            )
            let path = "/v1/tenants/\(tenant)/integrations/\(id)/volume"
            let days = try await client.send(.get, path).decode(ListOf<VolumeView>.self).data
            #expect(days.count == 60 && days.allSatisfy { $0.records == 0 })
            #expect(Set(days.map(\.stream)) == ["contacts", "lists"] && Set(days.map(\.date)).count == 30)
            #expect(days.map(\.date) == days.map(\.date).sorted())
            for bad in ["0", "91", "x", "-1", "99999999999999999999"] {
                #expect(try await client.send(.get, "\(path)?days=\(bad)").status == .badRequest)
            }
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/alerts?kind=nope").status == .badRequest)
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)/alerts?since=yesterday").status == .badRequest)
        }
    }
}

@Suite("Volume rules")
struct VolumeRulesTests {
    @Test("median, and a spike only past both the threshold and min_records, with enough history")
    func rules() {
        #expect(VolumeRules.median([]) == nil)
        #expect(VolumeRules.median([5, 1, 3]) == 3)
        #expect(VolumeRules.median([4, 1, 3, 2]) == 2.5)
        var settings = AlertSettings.DataSpike()
        settings.baselineRuns = 3
        settings.minRecords = 10
        #expect(VolumeRules.spike(observed: 301, history: [100, 100], settings: settings) == nil)
        #expect(VolumeRules.spike(observed: 300, history: [100, 100, 100], settings: settings) == nil)
        #expect(VolumeRules.spike(observed: 301, history: [100, 100, 100], settings: settings)?.threshold == 300)
        #expect(VolumeRules.spike(observed: 9, history: [0, 0, 0], settings: settings) == nil)
        #expect(VolumeRules.spike(observed: 10, history: [0, 0, 0], settings: settings)?.baseline == 0)
        settings.enabled = false
        #expect(VolumeRules.spike(observed: 10_000, history: [1, 1, 1], settings: settings) == nil)
    }
}
