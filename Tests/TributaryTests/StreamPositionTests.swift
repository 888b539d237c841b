import Fakes
import Foundation
import Testing
import TributaryConnectors

@Suite("Setting a stream's position: PUT …/state/{stream}")
struct StreamPositionTests {
    /// Profile `i` was last updated `i` hours before `base`, in whole seconds.
    static func profiles(_ fake: FakeKlaviyo, count: Int, base: Date) async {
        for index in 0..<count {
            let updated = Timestamps.format(base.addingTimeInterval(-Double(index) * 3600))
            await fake.add(type: "profile", id: "P\(index)", attributes: ["email": .string("p\(index)@x.test"), "updated": .string(updated)])
        }
    }

    @Test("a position set on Klaviyo profiles: the next run reads what the fake holds from there on, and the cursor moves on after it")
    func klaviyoResumes() async throws {
        let fake = FakeKlaviyo(apiKey: "pk_live_position")
        let base = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 600).rounded(.down))
        await Self.profiles(fake, count: 30, base: base)
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(worker: true) { client in
                let tenant = try await client.createTenant()
                let (keyID, key) = try await client.createKey(tenant: tenant)
                let id = try await client.klaviyoIntegration(tenant: tenant, port: port, key: "pk_live_position", streams: ["profiles"])
                let initial = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(initial.status == "succeeded" && initial.streams["profiles"]?.recordsRead == 30, "\(initial)")
                let path = "/v1/tenants/\(tenant)/integrations/\(id)/state"
                let before = try await client.send(.get, path).decode(StateView.self).streams["profiles"]?.cursor
                #expect(before?.string.flatMap(Timestamps.parse) == base, "\(String(describing: before))")

                // Half past the 10th hour back: profiles 0…10 were updated after it.
                let position = base.addingTimeInterval(-10.5 * 3600)
                let set = try await client.send(
                    .put,
                    "\(path)/profiles",
                    as: .token(key),
                    json: #"{"cursor": "\#(Timestamps.formatMilliseconds(position))"}"#
                )
                #expect(set.status == .ok, "\(String(decoding: set.body, as: UTF8.self))")
                #expect(set.raw["stream"] == "profiles")
                #expect(set.raw["cursor"] == .string(Timestamps.format(position)))
                #expect(try await client.send(.get, path).decode(StateView.self).streams["profiles"]?.cursor == .string(Timestamps.format(position)))

                let changed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=state.changed").decode(ListOf<ActivityView>.self)
                    .data
                #expect(changed.count == 1)
                #expect(changed.first?.actor == .apiKey(keyID) && changed.first?.severity == "medium" && changed.first?.integrationID == id)
                #expect(changed.first?.details["stream"] == "profiles")
                #expect(changed.first?.details["old_cursor"] == before)
                #expect(changed.first?.details["new_cursor"] == .string(Timestamps.format(position)))

                let requestsBefore = await fake.requestCount
                let resumed = try await client.syncAndWait(tenant: tenant, integration: id).run
                #expect(resumed.status == "succeeded", "\(resumed)")
                // What the fake holds from the position on: read, and nothing older.
                #expect(resumed.streams["profiles"]?.recordsRead == 11, "\(resumed)")
                let asked = await fake.requests.dropFirst(requestsBefore).filter { $0.contains("/api/profiles") }
                let below = Timestamps.format(position.addingTimeInterval(-1).rounded())
                #expect(asked.first?.removingPercentEncoding?.contains("greater-than(updated,\(below))") == true, "\(asked)")
                #expect(try await client.send(.get, path).decode(StateView.self).streams["profiles"]?.cursor == before)
            }
        }
    }

    @Test("what is not a position answers 422 on cursor; an unknown stream 404; a queued or running run 409, and nothing is written")
    func refusals() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            // Nothing listens on port 9: no run gets that far (there is no worker).
            let id = try await client.klaviyoIntegration(
                tenant: tenant,
                port: 9,
                key: "pk_live_refusals",
                streams: ["profiles", "metrics", "lists", "list_memberships"]
            )
            let path = "/v1/tenants/\(tenant)/integrations/\(id)/state"
            let future = Timestamps.format(Date().addingTimeInterval(86400))
            for (stream, json) in [
                ("profiles", #"{"cursor": "yesterday"}"#), ("profiles", #"{"cursor": "\#(future)"}"#), ("profiles", #"{"cursor": 1700000000}"#),
                ("profiles", #"{"cursor": null}"#), ("profiles", "{}"), ("profiles", #"{"cursor": {"since": "2026-01-01T00:00:00Z"}}"#),
                ("profiles", #"{"cursor": "\#(String(repeating: "9", count: 5000))"}"#), ("metrics", #"{"cursor": "2026-01-01T00:00:00Z"}"#),
                ("list_memberships", #"{"cursor": "2026-01-01T00:00:00Z"}"#),
            ] {
                let reply = try await client.send(.put, "\(path)/\(stream)", json: json)
                #expect(reply.status == .unprocessableContent, "\(stream) \(json)")
                #expect(reply.errorFields == ["cursor"], "\(stream) \(json)")
            }
            for stream in ["events", "nope", "%2E%2E"] {
                #expect(
                    try await client.send(.put, "\(path)/\(stream)", json: #"{"cursor": "2026-01-01T00:00:00Z"}"#).status == .notFound,
                    "\(stream)"
                )
            }
            #expect(try await client.send(.put, "\(path)/profiles", json: "[1]").status == .badRequest)

            // No worker: the initial run stays queued, and its checkpoint would overwrite the position.
            let queued = try await client.send(.put, "\(path)/profiles", json: #"{"cursor": "2026-01-01T00:00:00Z"}"#)
            #expect(queued.status == .conflict)
            let runID = try #require(queued.raw["run_id"]?.string)
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/syncs/\(runID)/cancel").status == .accepted)
            #expect(try await client.send(.get, path).decode(StateView.self).streams.isEmpty)
            let activity = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=state.changed").decode(ListOf<ActivityView>.self)
            #expect(activity.data.isEmpty)

            let set = try await client.send(.put, "\(path)/profiles", json: #"{"cursor": "2026-01-01T00:00:00+01:00"}"#)
            #expect(set.status == .ok)
            #expect(set.raw["cursor"] == "2025-12-31T23:00:00Z")
        }
    }

    @Test("each provider reads a position as its connector reads the cursor")
    func providerShapes() throws {
        let now = Date()
        let today = Timestamps.day(now)
        // Keap: contacts after an instant, emails from a day; the bare value or the stored object.
        #expect(try KeapProvider.checkpoint(at: "2026-11-20T10:00:00Z", stream: "contacts", config: [:]) == ["since": "2026-11-20T10:00:00.000Z"])
        #expect(
            try KeapProvider.checkpoint(at: ["since": "2026-11-20T10:00:00Z"], stream: "contacts", config: [:]) == [
                "since": "2026-11-20T10:00:00.000Z"
            ]
        )
        #expect(try KeapProvider.checkpoint(at: "2026-11-20", stream: "emails", config: [:]) == ["day": "2026-11-20"])
        #expect(try KeapProvider.checkpoint(at: ["day": .string(today)], stream: "emails", config: [:]) == ["day": .string(today)])
        for (stream, position) in [
            ("emails", "2026-02-30"), ("emails", "2026-11-20T00:00:00Z"), ("emails", "20261120"), ("emails", JSONValue.number(20_261_120)),
            ("emails", .string(Timestamps.day(now.addingTimeInterval(2 * 86400)))), ("contacts", "2026-11-20"), ("contacts", ["since": 5]),
            ("contacts", ["since": "2026-11-20T10:00:00Z", "skip": 3]), ("orders", "2026-11-20"),
        ] as [(String, JSONValue)] {
            #expect(throws: PositionRefused.self, "\(stream) \(position)") { try KeapProvider.checkpoint(at: position, stream: stream, config: [:]) }
        }

        // Demo: a run and an offset into it, or the run alone; lists are read whole.
        #expect(try DemoProvider.checkpoint(at: 3, stream: "contacts", config: [:]) == ["run": 3, "offset": 0])
        #expect(try DemoProvider.checkpoint(at: ["run": 2, "offset": 50], stream: "events", config: [:]) == ["run": 2, "offset": 50])
        for (stream, position) in [
            ("contacts", JSONValue.number(0)), ("contacts", .number(1.5)), ("contacts", .number(1e300)), ("contacts", ["run": 1, "offset": -1]),
            ("contacts", ["offset": 1]), ("contacts", ["run": 1, "extra": 1]), ("contacts", "3"), ("lists", 1),
            ("contacts", ["run": 2_000_000_000]),
        ] as [(String, JSONValue)] {
            #expect(throws: PositionRefused.self, "\(stream) \(position)") { try DemoProvider.checkpoint(at: position, stream: stream, config: [:]) }
        }

        // rest: the stream's cursor_format decides.
        func config(_ format: String?) -> [String: JSONValue] {
            var stream: [String: JSONValue] = [
                "name": "items", "path": "/items", "primary_key": "id", "cursor_field": "updated", "cursor_param": "since",
            ]
            if let format { stream["cursor_format"] = .string(format) }
            return ["base_url": "https://api.example.com", "streams": [.object(stream), ["name": "whole", "path": "/whole", "primary_key": "id"]]]
        }
        #expect(try RestProvider.checkpoint(at: "2026-11-20T10:00:00Z", stream: "items", config: config(nil)) == "2026-11-20T10:00:00Z")
        #expect(try RestProvider.checkpoint(at: 1_700_000_000, stream: "items", config: config("epoch_seconds")) == "1700000000")
        #expect(try RestProvider.checkpoint(at: "1700000000000", stream: "items", config: config("epoch_milliseconds")) == "1700000000000")
        let big = String(repeating: "9", count: 40)
        #expect(try RestProvider.checkpoint(at: .string(big), stream: "items", config: config("number")) == .string(big))
        for (stream, position, format) in [
            ("items", JSONValue.string("soon"), nil), ("items", .number(1_700_000_000), nil), ("items", .number(-5), "epoch_seconds"),
            ("items", .number(1e15), "epoch_seconds"), ("items", .string(big), "epoch_seconds"), ("items", .number(1.5), "number"),
            ("items", .string("12abc"), "number"), ("whole", .string("2026-11-20T10:00:00Z"), nil), ("missing", .number(1), "number"),
            ("items", .string("2026-02-30T00:00:00Z"), nil), ("items", .string("2026-01-01T00:00:60Z"), nil),
            ("items", .string("2026-13-01T00:00:00Z"), nil), ("items", .string("2025-02-29T00:00:00Z"), nil),
        ] as [(String, JSONValue, String?)] {
            #expect(throws: PositionRefused.self, "\(stream) \(position)") {
                try RestProvider.checkpoint(at: position, stream: stream, config: config(format))
            }
        }
        #expect(throws: PositionRefused.self) { try RestProvider.checkpoint(at: 1, stream: "items", config: ["streams": "broken"]) }
    }
}

extension Date {
    fileprivate func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
