import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Klaviyo connector against a fake Klaviyo")
struct KlaviyoConnectorTests {
    static let key = "pk_test_fake"

    static func connector(port: Int, credential: ConnectorCredential = .apiKey(key)) throws -> KlaviyoConnector {
        var connector = try KlaviyoConnector(
            context: testContext(["base_url": .string("http://127.0.0.1:\(port)"), "historical_sync_days": 90], credential: credential)
        )
        connector.http.limits.retryBase = .milliseconds(20)
        return connector
    }

    static func stream(_ name: String) -> StreamRequest {
        StreamRequest(stream: KlaviyoProvider.descriptor.stream(named: name)!, cursor: nil, historicalSyncDays: 90)
    }

    /// 250 profiles over the last 30 days, and 5 older than the historical window.
    static func seed(_ fake: FakeKlaviyo) async {
        let now = Date()
        for index in 0..<250 {
            await fake.add(
                type: "profile",
                id: "P\(index)",
                attributes: ["email": .string("p\(index)@x.test"), "updated": .string(iso(now.addingTimeInterval(-Double(250 - index) * 3600)))]
            )
        }
        for index in 0..<5 {
            await fake.add(type: "profile", id: "OLD\(index)", attributes: ["updated": .string(iso(now.addingTimeInterval(-200 * 86400)))])
        }
    }

    @Test("a historical read pages through links.next with page[size]=100, filtered and sorted on updated")
    func historical() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let collected = Collected()
            try await Self.connector(port: port).read(Self.stream("profiles")) { await collected.add($0) }
            let ids = await collected.ids
            #expect(ids.count == 250)
            #expect(Set(ids) == Set((0..<250).map { "P\($0)" }))
            let requests = await fake.requests
            #expect(requests.count == 3)
            #expect(requests[0].contains("page%5Bsize%5D=100") || requests[0].contains("page[size]=100"))
            #expect(requests[0].contains("greater-than"))
            #expect(requests[0].contains("sort=updated"))
            let first = try #require(await collected.records.first)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(first.json.utf8)) as? [String: Any])
            #expect(json["type"] as? String == "profile")
            #expect((json["attributes"] as? [String: Any])?["email"] != nil)
            #expect(await collected.lastCheckpoint?.stringValue != nil)
        }
    }

    @Test("an incremental read fetches only what changed since the cursor")
    func incremental() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let first = Collected()
            try await Self.connector(port: port).read(Self.stream("profiles")) { await first.add($0) }
            let cursor = await first.lastCheckpoint
            for index in [3, 77, 140] {
                await fake.update(type: "profile", id: "P\(index)", attributes: ["updated": .string(iso(Date().addingTimeInterval(60)))])
            }
            let second = Collected()
            var request = Self.stream("profiles")
            request.cursor = cursor
            try await Self.connector(port: port).read(request) { await second.add($0) }
            // P249 holds the checkpoint's second, which every read reads again (unchanged, so not rewritten).
            #expect(Set(await second.ids) == ["P3", "P77", "P140", "P249"])
        }
    }

    @Test("a profile changed within the checkpoint's second after the read is read by the next run", arguments: ["profiles", "events"])
    func tieAtTheCheckpoint(stream: String) async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        let (type, field) = stream == "profiles" ? ("profile", "updated") : ("event", "datetime")
        // Klaviyo keeps whole seconds: both records carry the same value, the second written after the first read.
        let second = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 3600).rounded(.down))
        await fake.add(type: type, id: "A", attributes: [field: .string(iso(second))])
        try await withFakeServer(fake.router) { port in
            let first = Collected()
            try await Self.connector(port: port).read(Self.stream(stream)) { await first.add($0) }
            #expect(await first.ids == ["A"])
            await fake.add(type: type, id: "B", attributes: [field: .string(iso(second.addingTimeInterval(0.7)))])
            var request = Self.stream(stream)
            request.cursor = await first.lastCheckpoint
            let next = Collected()
            try await Self.connector(port: port).read(request) { await next.add($0) }
            #expect(Set(await next.ids) == ["A", "B"])
            // Every endpoint read incrementally has greater-than on its cursor field (profiles, lists and segments
            // have no greater-or-equal): the filter goes one second below the checkpoint.
            #expect(await fake.requests.last?.contains("greater-than") == true)
        }
    }

    @Test("429 with Retry-After is waited out; intermittent 500s are retried")
    func throttlingAndErrors() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            await fake.failNext(1, status: 429, retryAfterSeconds: 1)
            let started = ContinuousClock.now
            let collected = Collected()
            try await Self.connector(port: port).read(Self.stream("profiles")) { await collected.add($0) }
            #expect(ContinuousClock.now - started >= .milliseconds(900))
            #expect(await collected.ids.count == 250)

            await fake.failNext(2, status: 500)
            let again = Collected()
            try await Self.connector(port: port).read(Self.stream("profiles")) { await again.add($0) }
            #expect(await again.ids.count == 250)
        }
    }

    @Test("an expired OAuth token is refreshed once mid-run and the read goes on")
    func oauthRefresh() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        await fake.acceptBearer("token-1")
        try await withFakeServer(fake.router) { port in
            let source = TestTokenSource(tokens: ["token-1", "token-2"])
            let collected = Collected()
            try await Self.connector(port: port, credential: .oauth2(source)).read(Self.stream("profiles")) { batch in
                await collected.add(batch)
                if await collected.records.count == 100 {
                    await fake.revokeBearers()
                    await fake.acceptBearer("token-2")
                }
            }
            #expect(await collected.ids.count == 250)
            #expect(await source.refreshes == 1)
        }
    }

    @Test("a malformed page fails the read naming the path, never the key, and stores nothing of it")
    func malformed() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let collected = Collected()
            let error = await #expect(throws: ConnectorError.self) {
                try await Self.connector(port: port).read(Self.stream("profiles")) { batch in
                    await collected.add(batch)
                    await fake.malformNext()
                }
            }
            #expect(error?.code == "malformed_response")
            #expect(error?.message.contains("/api/profiles") == true)
            #expect(error?.message.contains(Self.key) == false)
            #expect(await collected.ids.count == 100)
        }
    }

    @Test("after a crash between pages, a read from the last checkpoint loses nothing")
    func resumeAfterCrash() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let before = Collected()
            await #expect(throws: SimulatedCrash.self) {
                try await Self.connector(port: port).read(Self.stream("profiles")) { batch in
                    await before.add(batch)
                    if await before.records.count >= 200 { throw SimulatedCrash() }
                }
            }
            // Only what was stored counts: the crash came before the second page's checkpoint was kept.
            let stored = await Array(before.records.prefix(100))
            var request = Self.stream("profiles")
            request.cursor = await before.checkpoints.first ?? nil
            let after = Collected()
            try await Self.connector(port: port).read(request) { await after.add($0) }
            #expect(Set(stored.map(\.id)).union(await after.ids) == Set((0..<250).map { "P\($0)" }))
        }
    }

    @Test("campaigns are read per channel; metrics take no page size; a bad key is refused at once")
    func campaignsMetricsAndBadKey() async throws {
        let fake = FakeKlaviyo(apiKey: Self.key)
        await fake.add(type: "campaign", id: "C1", attributes: ["name": "Spring", "updated": .string(iso(Date()))], channel: "email")
        await fake.add(type: "campaign", id: "C2", attributes: ["name": "SMS blast", "updated": .string(iso(Date()))], channel: "sms")
        await fake.add(type: "metric", id: "M1", attributes: ["name": "Placed Order"])
        try await withFakeServer(fake.router) { port in
            let campaigns = Collected()
            try await Self.connector(port: port).read(Self.stream("campaigns")) { await campaigns.add($0) }
            #expect(Set(await campaigns.ids) == ["C1", "C2"])
            let metrics = Collected()
            try await Self.connector(port: port).read(Self.stream("metrics")) { await metrics.add($0) }
            #expect(await metrics.ids == ["M1"])
            #expect(await fake.requests.last?.contains("page") == false)

            let error = await #expect(throws: ConnectorError.self) {
                try await Self.connector(port: port, credential: .apiKey("pk_wrong")).check()
            }
            #expect(error?.code == "credential_rejected")
            #expect(error?.retryable == false)
            // A key without the scope a stream needs: Klaviyo's 403 is a refused credential too.
            await fake.failNext(1, status: 403)
            let denied = await #expect(throws: ConnectorError.self) { try await Self.connector(port: port).check() }
            #expect(denied?.code == "credential_rejected" && denied?.retryable == false && denied?.message.contains("403") == true)
            try await Self.connector(port: port).check()
        }
    }
}
