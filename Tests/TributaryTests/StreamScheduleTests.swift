import Foundation
import Testing

@testable import Tributary

@Suite("A schedule per stream: stream_settings")
struct StreamScheduleTests {
    static func path(_ tenant: String) -> String { "/v1/tenants/\(tenant)/integrations" }

    /// Moves every stream's next time, and the integration's, `minutes` into the past.
    static func age(_ client: TestClient, integration: String, minutes: Int) async throws {
        let id = try #require(UUID(uuidString: integration))
        let moved = try await client.database.rows(
            """
            UPDATE integrations SET next_sync_at = coalesce(next_sync_at, now()) - interval '1 minute' * \(minutes),
                stream_next_sync = (
                    SELECT coalesce(jsonb_object_agg(key, to_char(((value #>> '{}')::timestamptz - interval '1 minute' * \(minutes))
                        AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), '{}'::jsonb)
                    FROM jsonb_each(stream_next_sync))
            WHERE id = \(id) RETURNING 1
            """,
            as: Int.self
        )
        #expect(moved == [1])
    }

    /// One scheduler tick (this one, or the worker's own, whichever comes first), then the run it
    /// queued after `previous`, ended.
    static func tick(_ client: TestClient, tenant: String, integration: String, after previous: String) async throws -> RunView {
        _ = try await TestServices.with(client.config, logger: client.logger) { services in
            try await services.store.enqueueDue(batch: 500, maxAttempts: 3)
        }
        var newest = previous
        for _ in 0..<100 where newest == previous {
            newest = try await client.send(.get, "\(path(tenant))/\(integration)/syncs").decode(ListOf<RunView>.self).data.first?.id ?? previous
            if newest == previous { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(newest != previous, "no run was queued")
        let run = try await client.waitForRun(tenant: tenant, integration: integration, runID: newest)
        #expect(run.trigger == "schedule" && run.status == "succeeded", "\(run)")
        return run
    }

    @Test(
        "each stream is read at its own frequency: a tick queues one run of only the due streams; next_sync_at per stream shows, and the integration's is the earliest"
    )
    func dueStreamsOnly() async throws {
        try await TestApp.run(worker: true) { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(
                .post,
                Self.path(tenant),
                json: """
                    {"provider": "demo", "name": "D", "streams": ["contacts", "events", "lists"], "config": {"records_per_run": 20},
                     "stream_settings": {"events": {"sync_frequency_minutes": 30}, "lists": {"sync_frequency_minutes": 1440}}}
                    """
            )
            #expect(created.status == .created, "\(String(decoding: created.body, as: UTF8.self))")
            let id = try created.decode(IntegrationView.self).id
            #expect(created.raw["stream_settings"] == ["events": ["sync_frequency_minutes": 30], "lists": ["sync_frequency_minutes": 1440]])
            let initial = try await client.waitForRun(tenant: tenant, integration: id)
            #expect(initial.status == "succeeded" && Set(initial.streams.keys) == ["contacts", "events", "lists"])

            let after = try await client.send(.get, "\(Self.path(tenant))/\(id)").decode(IntegrationView.self)
            let schedules = after.streamSchedules
            #expect(schedules.mapValues(\.syncFrequencyMinutes) == ["contacts": 360, "events": 30, "lists": 1440])
            let ends = try #require(initial.finishedAt)
            for (stream, minutes) in ["contacts": 360.0, "events": 30, "lists": 1440] {
                let next = try #require(schedules[stream]?.nextSyncAt, "\(stream)")
                #expect(abs(next.timeIntervalSince(ends) - minutes * 60) < 5, "\(stream): \(next) after \(ends)")
            }
            #expect(after.nextSyncAt == schedules["events"]?.nextSyncAt)

            // 31 minutes on: only events is due.
            try await Self.age(client, integration: id, minutes: 31)
            let eventsOnly = try await Self.tick(client, tenant: tenant, integration: id, after: initial.id)
            #expect(Set(eventsOnly.streams.keys) == ["events"], "\(eventsOnly.streams.keys)")
            let later = try await client.send(.get, "\(Self.path(tenant))/\(id)").decode(IntegrationView.self).streamSchedules
            #expect(later["contacts"]?.nextSyncAt == schedules["contacts"]?.nextSyncAt?.addingTimeInterval(-31 * 60))
            #expect((later["events"]?.nextSyncAt ?? .distantPast) > Date().addingTimeInterval(25 * 60))

            // Six hours on: contacts and events are due, in one run; lists waits for its day.
            try await Self.age(client, integration: id, minutes: 361)
            let two = try await Self.tick(client, tenant: tenant, integration: id, after: eventsOnly.id)
            #expect(Set(two.streams.keys) == ["contacts", "events"], "\(two.streams.keys)")

            // A PATCH replaces the overrides; dropping a stream drops its override.
            let cleared = try await client.send(
                .patch,
                "\(Self.path(tenant))/\(id)",
                json: #"{"stream_settings": {"lists": {"sync_frequency_minutes": 60}}}"#
            )
            #expect(cleared.status == .ok)
            #expect(
                try cleared.decode(IntegrationView.self).streamSchedules.mapValues(\.syncFrequencyMinutes) == [
                    "contacts": 360, "events": 360, "lists": 60,
                ]
            )
            let dropped = try await client.send(.patch, "\(Self.path(tenant))/\(id)", json: #"{"streams": ["contacts", "events"]}"#)
            #expect(dropped.raw["stream_settings"] == [:])
            #expect(try dropped.decode(IntegrationView.self).streamSchedules.keys.sorted() == ["contacts", "events"])
            let activity = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=integration.updated").decode(ListOf<ActivityView>.self)
                .data
            #expect(activity.last?.details["changed"] == ["stream_settings"])
        }
    }

    @Test("stream_settings that are not an integration's stream or not a frequency from 30 to 1440 answer 422 naming the field")
    func refusals() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            for (settings, field) in [
                (#"{"nope": {"sync_frequency_minutes": 60}}"#, "stream_settings.nope"),
                (#"{"events": {"sync_frequency_minutes": 29}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {"sync_frequency_minutes": 1441}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {"sync_frequency_minutes": 60.5}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {"sync_frequency_minutes": 1e300}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {"sync_frequency_minutes": "60"}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {}}"#, "stream_settings.events.sync_frequency_minutes"),
                (#"{"events": {"sync_frequency_minutes": 60, "delay": 1}}"#, "stream_settings.events.delay"),
                (#"{"events": 60}"#, "stream_settings.events"),
                (#"{"lists": {"sync_frequency_minutes": 60}}"#, "stream_settings.lists"),
            ] {
                let reply = try await client.send(
                    .post,
                    Self.path(tenant),
                    json: #"{"provider": "demo", "name": "D", "streams": ["contacts", "events"], "stream_settings": \#(settings)}"#
                )
                #expect(reply.status == .unprocessableContent && reply.errorFields == [field], "\(settings): \(reply.errorFields)")
            }
            let array = try await client.send(.post, Self.path(tenant), json: #"{"provider": "demo", "name": "D", "stream_settings": []}"#)
            #expect(array.status == .unprocessableContent && array.errorFields == ["stream_settings"])
            let id = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D", streams: ["contacts"]))
            let patch = try await client.send(
                .patch,
                "\(Self.path(tenant))/\(id)",
                json: #"{"stream_settings": {"events": {"sync_frequency_minutes": 60}}}"#
            )
            #expect(patch.status == .unprocessableContent && patch.errorFields == ["stream_settings.events"])
            // Overrides for streams added in the same PATCH are fine.
            let both = try await client.send(
                .patch,
                "\(Self.path(tenant))/\(id)",
                json: #"{"streams": ["contacts", "events"], "stream_settings": {"events": {"sync_frequency_minutes": 60}}}"#
            )
            #expect(both.status == .ok)
            #expect(try both.decode(IntegrationView.self).streamSchedules["events"]?.syncFrequencyMinutes == 60)
        }
    }
}
