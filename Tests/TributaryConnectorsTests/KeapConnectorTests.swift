import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Keap connector against a fake Keap")
struct KeapConnectorTests {
    static let key = "KeapAK-test-fake"

    static func connector(port: Int, credential: ConnectorCredential = .apiKey(key)) throws -> KeapConnector {
        var connector = try KeapConnector(
            context: testContext(["base_url": .string("http://127.0.0.1:\(port)/crm/rest"), "historical_sync_days": 30], credential: credential)
        )
        connector.http.limits.retryBase = .milliseconds(20)
        return connector
    }

    static func stream(_ name: String, cursor: JSONValue? = nil) -> StreamRequest {
        StreamRequest(stream: KeapProvider.descriptor.stream(named: name)!, cursor: cursor, historicalSyncDays: 30)
    }

    /// 2,500 contacts over the last ten days, several sharing a timestamp; and 3 from long ago.
    static func seedContacts(_ fake: FakeKeap) async {
        let now = Date()
        for id in 1...2500 {
            await fake.addContact(
                id: id,
                lastUpdated: now.addingTimeInterval(-Double(2500 - id / 3 * 3) * 300),
                fields: ["given_name": .string("C\(id)")]
            )
        }
        for id in 9001...9003 {
            await fake.addContact(id: id, lastUpdated: now.addingTimeInterval(-90 * 86400))
        }
    }

    @Test("contacts: a historical read pages by 1000 until an empty page, despite the ever-present next link")
    func contactsHistorical() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        await Self.seedContacts(fake)
        try await withFakeServer(fake.router) { port in
            let collected = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts")) { await collected.add($0) }
            #expect(Set(await collected.ids) == Set((1...2500).map(String.init)))
            let requests = await fake.requests
            #expect(requests.allSatisfy { $0.contains("order=last_updated") && $0.contains("limit=1000") })
            #expect(requests.count >= 4)
        }
    }

    @Test("contacts: an incremental read fetches only what changed, and resumes after a crash")
    func contactsIncrementalAndResume() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        await Self.seedContacts(fake)
        try await withFakeServer(fake.router) { port in
            let crashed = Collected()
            await #expect(throws: SimulatedCrash.self) {
                try await Self.connector(port: port).read(Self.stream("contacts")) { batch in
                    await crashed.add(batch)
                    if await crashed.records.count >= 2000 { throw SimulatedCrash() }
                }
            }
            // The first page was stored with its checkpoint; the second page was not.
            let stored = await Set(crashed.records.prefix(1000).map(\.id))
            let resumed = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts", cursor: await crashed.checkpoints.first ?? nil)) {
                await resumed.add($0)
            }
            #expect(stored.union(await resumed.ids) == Set((1...2500).map(String.init)))
            let cursor = await resumed.lastCheckpoint

            for id in [5, 1500] { await fake.updateContact(id: id, lastUpdated: Date()) }
            // The read's window ends (exclusively) when it starts: let a millisecond pass, as in life.
            try await Task.sleep(for: .milliseconds(5))
            let changed = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts", cursor: cursor)) { await changed.add($0) }
            // 2499 and 2500 hold the checkpoint's second, which every read reads again (unchanged, so not rewritten).
            #expect(Set(await changed.ids) == ["5", "1500", "2499", "2500"])
        }
    }

    @Test("contacts: a contact changed within the checkpoint's second after the read is read by the next run")
    func contactsTieAtTheCheckpoint() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        let now = Date()
        await fake.addContact(id: 1, lastUpdated: now)
        try await withFakeServer(fake.router) { port in
            let first = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts")) { await first.add($0) }
            #expect(await first.ids == ["1"])
            // Edited in the same second as contact 1, after the read: Keap stamps it with that whole second.
            await fake.addContact(id: 2, lastUpdated: now)
            let next = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts", cursor: await first.lastCheckpoint)) { await next.add($0) }
            #expect(Set(await next.ids) == ["1", "2"])
        }
    }

    @Test("emails: read day by day up to yesterday, each day checkpointed, never a partial today")
    func emailsByDay() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        let calendar = KeapConnector.utcCalendar
        let today = calendar.startOfDay(for: Date())
        for (id, daysAgo) in [(1, 3), (2, 3), (3, 2), (4, 1), (5, 0), (6, 40)] {
            await fake.addEmail(id: id, sentDate: today.addingTimeInterval(-Double(daysAgo) * 86400 + 3600), fields: ["subject": .string("S\(id)")])
        }
        try await withFakeServer(fake.router) { port in
            let collected = Collected()
            try await Self.connector(port: port).read(
                Self.stream("emails", cursor: ["day": .string(Timestamps.day(today.addingTimeInterval(-4 * 86400)))])
            ) {
                await collected.add($0)
            }
            #expect(Set(await collected.ids) == ["1", "2", "3", "4"])
            #expect(await collected.lastCheckpoint == ["day": .string(Timestamps.day(today))])
            let dayCheckpoints = await collected.checkpoints.compactMap { $0 }
            #expect(dayCheckpoints.count == 4)
            #expect(
                await fake.requests.allSatisfy {
                    !$0.contains("since_sent_date=\(Timestamps.format(today))".replacingOccurrences(of: ":", with: "%3A"))
                }
            )
        }
    }

    @Test("429 with Retry-After and intermittent 500s are retried; a malformed page fails naming the path")
    func throttlingErrorsMalformed() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        await Self.seedContacts(fake)
        try await withFakeServer(fake.router) { port in
            await fake.failNext(1, status: 429, retryAfterSeconds: 1)
            await fake.failNext(2, status: 503)
            let collected = Collected()
            try await Self.connector(port: port).read(Self.stream("contacts")) { await collected.add($0) }
            #expect(await collected.ids.count == 2500)

            await fake.malformNext()
            let error = await #expect(throws: ConnectorError.self) {
                try await Self.connector(port: port).read(Self.stream("contacts")) { _ in }
            }
            #expect(error?.message.contains("/crm/rest/v1/contacts") == true)
            #expect(error?.message.contains(Self.key) == false)
        }
    }

    @Test("an expired OAuth token is refreshed once mid-run")
    func oauthRefresh() async throws {
        let fake = FakeKeap(apiKey: Self.key)
        await Self.seedContacts(fake)
        await fake.acceptBearer("keap-1")
        try await withFakeServer(fake.router) { port in
            let source = TestTokenSource(tokens: ["keap-1", "keap-2"])
            let collected = Collected()
            try await Self.connector(port: port, credential: .oauth2(source)).read(Self.stream("contacts")) { batch in
                await collected.add(batch)
                if await collected.records.count == 1000 {
                    await fake.revokeBearers()
                    await fake.acceptBearer("keap-2")
                }
            }
            #expect(Set(await collected.ids).count == 2500)
            #expect(await source.refreshes == 1)
        }
    }
}
