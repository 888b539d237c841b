import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Declarative REST connector against a generic JSON API")
struct RestConnectorTests {
    static func seed(_ fake: FakeJSONAPI, count: Int = 35) async {
        for id in 1...count {
            await fake.add(id: id, updatedAt: Date(timeIntervalSinceNow: -Double(count - id) * 60), name: "Item \(id)")
        }
    }

    static func config(port: Int, stream: JSONValue, auth: JSONValue = ["type": "none"]) -> [String: JSONValue] {
        ["base_url": .string("http://127.0.0.1:\(port)"), "auth": auth, "streams": [stream]]
    }

    static func read(_ config: [String: JSONValue], credential: ConnectorCredential = .none, cursor: JSONValue? = nil) async throws -> Collected {
        let connector = try RestConnector(context: testContext(config, credential: credential))
        let streams = RestProvider.streams(config: config)
        let collected = Collected()
        try await connector.read(StreamRequest(stream: streams[0], cursor: cursor, historicalSyncDays: 90)) { await collected.add($0) }
        return collected
    }

    static let styles: [(style: String, recordsPath: String, pagination: JSONValue)] = [
        ("plain", "", ["type": "none"] as JSONValue),
        ("next", "/results", ["type": "next_url", "next_url_path": "/next"] as JSONValue),
        ("link", "", ["type": "link_header"] as JSONValue),
        ("cursor", "/data/items", ["type": "cursor", "cursor_param": "cursor", "next_cursor_path": "/meta/next_cursor"] as JSONValue),
        ("offset", "/items", ["type": "offset", "limit": 10] as JSONValue),
        ("page", "/items", ["type": "page", "size": 10, "start_page": 1] as JSONValue),
    ]

    @Test("every pagination style reads every record once")
    func paginationStyles() async throws {
        for (style, recordsPath, pagination) in Self.styles {
            try await readStyle(style: style, recordsPath: recordsPath, pagination: pagination)
        }
    }

    func readStyle(style: String, recordsPath: String, pagination: JSONValue) async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let stream: JSONValue = [
                "name": "items", "path": .string("/items/\(style)"), "records_path": .string(recordsPath), "primary_key": "id",
                "pagination": pagination,
            ]
            let collected = try await Self.read(Self.config(port: port, stream: stream))
            #expect(await collected.ids == (1...35).map(String.init), "\(style)")
        }
    }

    @Test("incremental: the cursor goes into the request; only newer records come back")
    func incremental() async throws {
        let fake = FakeJSONAPI(auth: .header(name: "X-Token", value: "secret-1"), pageSize: 10)
        await Self.seed(fake)
        try await withFakeServer(fake.router) { port in
            let pagination: JSONValue = ["type": "next_url", "next_url_path": "/next"]
            let stream: JSONValue = [
                "name": "items", "path": "/items/next", "records_path": "/results", "primary_key": "id", "cursor_field": "updated_at",
                "cursor_param": "updated_since", "pagination": pagination,
            ]
            let auth: JSONValue = ["type": "api_key_header", "header": "X-Token"]
            let config = Self.config(port: port, stream: stream, auth: auth)
            let first = try await Self.read(config, credential: .apiKey("secret-1"))
            #expect(await first.ids.count == 35)
            let cursor = await first.lastCheckpoint
            #expect(cursor?.stringValue != nil)
            await fake.add(id: 7, updatedAt: Date(timeIntervalSinceNow: 30), name: "Item 7 changed")
            let second = try await Self.read(config, credential: .apiKey("secret-1"), cursor: cursor)
            // Item 35 holds the checkpoint's second, which every read reads again (unchanged, so not rewritten).
            #expect(await second.ids == ["35", "7"])
            #expect(await fake.requests.last?.contains("updated_since=") == true)

            await #expect(throws: ConnectorError.self) { try await Self.read(config, credential: .apiKey("wrong")) }
        }
    }

    @Test(
        "a record changed within the checkpoint's second after the read is read by the next run",
        arguments: [("/items/next", "/results", true), ("/items/plain", "", false)]
    )
    func tieAtTheCheckpoint(path: String, recordsPath: String, cursorParam: Bool) async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        let second = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 600).rounded(.down))
        await fake.add(id: 1, updatedAt: second.addingTimeInterval(-60), name: "one")
        await fake.add(id: 2, updatedAt: second, name: "two")
        try await withFakeServer(fake.router) { port in
            var stream: [String: JSONValue] = [
                "name": "items", "path": .string(path), "records_path": .string(recordsPath), "primary_key": "id", "cursor_field": "updated_at",
                "pagination": path.hasSuffix("next") ? ["type": "next_url", "next_url_path": "/next"] : ["type": "none"],
            ]
            // With the parameter the fake filters strictly later (updated_since); without it the connector filters.
            if cursorParam { stream["cursor_param"] = "updated_since" }
            let config = Self.config(port: port, stream: .object(stream))
            let first = try await Self.read(config)
            #expect(await first.ids == ["1", "2"])
            await fake.add(id: 3, updatedAt: second.addingTimeInterval(0.6), name: "three, in the same second as two")
            let next = try await Self.read(config, cursor: await first.lastCheckpoint)
            #expect(await next.ids == ["2", "3"])
        }
    }

    @Test("numeric cursors compare as numbers: integers beyond 2^53 exactly, epoch seconds from the historical start")
    func numericCursors() async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        let now = Date()
        await fake.add(id: 1, updatedAt: now.addingTimeInterval(-200 * 86400), name: "old", version: "9007199254740992")
        await fake.add(id: 2, updatedAt: now.addingTimeInterval(-60), name: "two", version: "9007199254740993")
        try await withFakeServer(fake.router) { port in
            // An integer version: no cursor parameter, the connector compares; 2^53 + 1 and + 2 are one Double.
            let byVersion: JSONValue = ["name": "items", "path": "/items/plain", "primary_key": "id", "cursor_field": "version"]
            let config = Self.config(port: port, stream: byVersion)
            let first = try await Self.read(config)
            #expect(Set(await first.ids) == ["1", "2"])
            #expect(await first.lastCheckpoint == "9007199254740993")
            await fake.add(id: 3, updatedAt: now, name: "three", version: "9007199254740994")
            let next = try await Self.read(config, cursor: await first.lastCheckpoint)
            #expect(await next.ids == ["2", "3"])
            #expect(await next.lastCheckpoint == "9007199254740994")

            // Epoch seconds in the request: the first read starts historical_sync_days back, in seconds, not RFC 3339.
            let byEpoch: JSONValue = [
                "name": "items", "path": "/items/plain", "primary_key": "id", "cursor_field": "updated_epoch", "cursor_param": "since_epoch",
                "cursor_format": "epoch_seconds",
            ]
            let epochConfig = Self.config(port: port, stream: byEpoch)
            let before = Date().timeIntervalSince1970 - 90 * 86400
            let epoch = try await Self.read(epochConfig)
            let after = Date().timeIntervalSince1970 - 90 * 86400
            #expect(Set(await epoch.ids) == ["2", "3"])
            let sent = try #require(await fake.requests.last?.split(separator: "=").last.flatMap { Int($0) })
            // One second below the start, in whole seconds.
            #expect((before - 2...after).contains(Double(sent)))
            #expect(await epoch.lastCheckpoint == .string(String(Int(now.timeIntervalSince1970))))
        }
    }

    @Test("offset and page pagination read on past a page the API cut short, to an empty page", arguments: ["offset", "page"])
    func shortPages(style: String) async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        await Self.seed(fake)
        await fake.capPageSize(10)
        try await withFakeServer(fake.router) { port in
            let pagination: JSONValue = style == "offset" ? ["type": "offset", "limit": 100] : ["type": "page", "size": 100]
            let stream: JSONValue = [
                "name": "items", "path": .string("/items/\(style)"), "records_path": "/items", "primary_key": "id", "pagination": pagination,
            ]
            let collected = try await Self.read(Self.config(port: port, stream: stream))
            #expect(await collected.ids == (1...35).map(String.init))
            #expect(await fake.requests.count == 5)
        }
    }

    @Test("API key in the query and basic auth are sent as configured")
    func authStyles() async throws {
        let queryFake = FakeJSONAPI(auth: .query(param: "api_key", value: "k-123"))
        await Self.seed(queryFake, count: 3)
        try await withFakeServer(queryFake.router) { port in
            let stream: JSONValue = ["name": "items", "path": "/items/plain", "primary_key": "id"]
            let auth: JSONValue = ["type": "api_key_query", "param": "api_key"]
            let collected = try await Self.read(Self.config(port: port, stream: stream, auth: auth), credential: .apiKey("k-123"))
            #expect(await collected.ids.count == 3)
        }
        let basicFake = FakeJSONAPI(auth: .basic(username: "acme", password: "pw-9"))
        await Self.seed(basicFake, count: 2)
        try await withFakeServer(basicFake.router) { port in
            let stream: JSONValue = ["name": "items", "path": "/items/plain", "primary_key": "id"]
            let auth: JSONValue = ["type": "basic", "username": "acme"]
            let collected = try await Self.read(Self.config(port: port, stream: stream, auth: auth), credential: .apiKey("pw-9"))
            #expect(await collected.ids.count == 2)
        }
    }

    @Test("a path with its own query, and relative next links, stay on the configured base path")
    func pathsAndRelativeLinks() throws {
        let http = try ProviderHTTP(
            baseURL: "https://api.example.test/v2",
            credential: .none,
            keyPlacement: .header("X"),
            limiter: RateLimiter(.uniform(RateLimit(perSecond: 1))),
            logger: testContext([:], credential: .none).logger
        )
        #expect(http.url("/items?status=open", query: [("page", "2")]) == "https://api.example.test/v2/items?status=open&page=2")
        #expect(
            http.url("/items", query: [("filter", "greater-than(updated,2024-01-01T00:00:00Z)")])
                == "https://api.example.test/v2/items?filter=greater-than%28updated%2C2024-01-01T00%3A00%3A00Z%29"
        )
        #expect(try http.follow("/v2/items?page=3") == "https://api.example.test/v2/items?page=3")
        #expect(try http.follow("https://evil.example.test/v2/items?page=3") == "https://api.example.test/v2/items?page=3")
    }

    @Test("integers beyond 2^53 keep every digit, as ids and in the stored record")
    func largeIntegers() throws {
        let text = #"{"id":9007199254740993,"next":9007199254740994,"small":42,"ratio":0.5}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(RestConnector.scalar(value["id"]) == "9007199254740993")
        #expect(RestConnector.scalar(value["next"]) == "9007199254740994")
        #expect(RestConnector.scalar(value["small"]) == "42")
        #expect(value.jsonText == #"{"id":9007199254740993,"next":9007199254740994,"ratio":0.5,"small":42}"#)
    }

    @Test("a NUL in provider data becomes U+FFFD: jsonb cannot hold it")
    func nulCharacters() {
        let value: JSONValue = ["name": .string("a\u{0}b"), "tags": [.string("\u{0}")]]
        #expect(!value.jsonText.contains("\\u0000"))
        #expect(value.jsonText.contains("a\u{FFFD}b"))
        let clean: JSONValue = ["name": "plain"]
        #expect(clean.jsonText == #"{"name":"plain"}"#)
    }

    @Test("a config the schema refuses never reaches a request: the connector refuses it, naming the field")
    func invalidConfigIsRefused() throws {
        let stream: JSONValue = ["name": "items", "path": "items", "primary_key": "id", "pagination": ["type": "page", "start_page": 1e300]]
        let error = try #require(throws: ConnectorError.self) {
            try RestConnector(context: testContext(["base_url": "https://x.test", "streams": [stream]], credential: .none))
        }
        #expect(error.code == "invalid_config")
        #expect(error.message.contains("config.streams[0].path"))
        #expect(RestProvider.streams(config: ["streams": [stream]]).isEmpty)
        let huge: JSONValue = ["name": "items", "path": "/items", "primary_key": "id", "pagination": ["type": "page", "start_page": 1e300]]
        let unreadable = try #require(throws: ConnectorError.self) {
            try RestConnector(context: testContext(["base_url": "https://x.test", "streams": [huge]], credential: .none))
        }
        #expect(unreadable.code == "invalid_config")
    }

    @Test("the config schema names the field at fault")
    func schema() {
        let pagination: JSONValue = ["type": "offset", "limit": 0]
        let stream: JSONValue = ["name": "Items", "path": "items", "primary_key": "id", "pagination": pagination]
        let bad: JSONValue = ["base_url": "http://x.test", "streams": [stream]]
        let paths = Set(JSONSchema.validate(bad, against: RestProvider.descriptor.configSchema, at: "config").map(\.path))
        #expect(paths.contains("config.streams[0].name"))
        #expect(paths.contains("config.streams[0].path"))
        #expect(paths.contains("config.streams[0].pagination.limit") || paths.contains("config.streams[0].pagination"))
        let empty: JSONValue = ["streams": []]
        #expect(JSONSchema.validate(empty, against: RestProvider.descriptor.configSchema, at: "config").map(\.path).contains("config.base_url"))
    }
}
