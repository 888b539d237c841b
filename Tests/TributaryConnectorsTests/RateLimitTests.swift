import Fakes
import Foundation
import NIOHTTP1
import Testing

@testable import TributaryConnectors

@Suite("Rate limits: each endpoint's allowance used, never exceeded")
struct RateLimitTests {
    static func timestamp(_ secondsAgo: Double) -> JSONValue {
        .string(Timestamps.format(Date(timeIntervalSinceNow: -secondsAgo)))
    }

    @Test("three Klaviyo streams read at once on one connector, against a fake enforcing each endpoint's tier: all read, no 429")
    func klaviyoConcurrentStreams() async throws {
        let limits = FixedWindowLimits.klaviyo()
        let fake = FakeKlaviyo(apiKey: KlaviyoConnectorTests.key, limits: limits)
        // Flows are S (3/s): 10 pages of 50. Templates are M (10/s): 15 pages of 10. Profiles L: 3 pages.
        for index in 0..<500 { await fake.add(type: "flow", id: "F\(index)", attributes: ["name": "f", "updated": Self.timestamp(Double(index))]) }
        for index in 0..<150 {
            await fake.add(type: "template", id: "T\(index)", attributes: ["name": "t", "updated": Self.timestamp(Double(index))])
        }
        for index in 0..<300 { await fake.add(type: "profile", id: "P\(index)", attributes: ["updated": Self.timestamp(Double(index))]) }
        try await withFakeServer(fake.router) { port in
            let connector = try KlaviyoConnector(
                context: testContext(
                    ["base_url": .string("http://127.0.0.1:\(port)"), "historical_sync_days": 90],
                    credential: .apiKey(KlaviyoConnectorTests.key)
                )
            )
            let counts = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for name in ["flows", "templates", "profiles"] {
                    group.addTask {
                        let collected = Collected()
                        try await connector.read(KlaviyoConnectorTests.stream(name)) { await collected.add($0) }
                        return (name, await collected.ids.count)
                    }
                }
                var counts: [String: Int] = [:]
                for try await (name, count) in group { counts[name] = count }
                return counts
            }
            #expect(counts == ["flows": 500, "templates": 150, "profiles": 300])
            #expect(limits.stats.throttled == 0)
            #expect(limits.stats.requests == 10 + 15 + 3)
            #expect(connector.http.limiter.throttledCount == 0)
        }
    }

    @Test(
        "the tiers: each endpoint its own budget, ids left out, an unknown endpoint at M",
        arguments: [
            ("/api/profiles/", "profiles", 75, 700), ("/api/events/", "events", 350, 3500), ("/api/flows/", "flows", 3, 60),
            ("/api/lists/Y7/profiles/", "lists/{id}/profiles", 75, 750), ("/api/lists/Z9/profiles/", "lists/{id}/profiles", 75, 750),
            ("/api/something-new/", "something-new", 10, 150),
        ]
    )
    func klaviyoTiers(path: String, key: String, burst: Int, steady: Int) {
        let (budget, limit) = KlaviyoRateLimits.policy.budget(path)
        #expect(budget == key)
        #expect(limit == RateLimit(perSecond: burst, perMinute: steady))
    }

    /// A `rest` stream of `count` items paged by offset, 10 a page, read through `config`'s extra members.
    static func readRest(port: Int, extra: [String: JSONValue] = [:]) async throws -> (ids: Int, connector: RestConnector) {
        var config: [String: JSONValue] = [
            "base_url": .string("http://127.0.0.1:\(port)"), "auth": ["type": "none"],
            "streams": [
                [
                    "name": "items", "path": "/items/offset", "records_path": "/items", "primary_key": "id",
                    "pagination": ["type": "offset", "limit": 10],
                ]
            ],
        ]
        config.merge(extra) { _, new in new }
        let connector = try RestConnector(context: testContext(config, credential: .none))
        let stream = try #require(RestProvider.streams(config: config).first)
        let collected = Collected()
        try await connector.read(StreamRequest(stream: stream, cursor: nil, historicalSyncDays: 90)) { await collected.add($0) }
        return (await collected.ids.count, connector)
    }

    @Test(
        "RateLimit-Remaining 0 (or X-RateLimit-) waits for its Reset before the next request: a small window is never exceeded",
        arguments: [
            FixedWindowLimits.HeaderStyle.rateLimit, .xRateLimit,
        ]
    )
    func headersSlowDown(style: FixedWindowLimits.HeaderStyle) async throws {
        // 3 requests per 2 s fixed window; `rest` without a rate_limit knows only what the headers say.
        let limits = FixedWindowLimits(style: style, [.init(seconds: 2, limit: 3)])
        let fake = FakeJSONAPI(pageSize: 10, limits: limits)
        for id in 1...40 { await fake.add(id: id, updatedAt: Date(), name: "Item \(id)") }
        try await withFakeServer(fake.router) { port in
            let (ids, _) = try await Self.readRest(port: port)
            #expect(ids == 40)
            #expect(limits.stats.requests == 5)  // four pages of 10, then the empty page that ends the stream
            #expect(limits.stats.throttled == 0)
        }
    }

    @Test("rest rate_limit: per_second honoured at the API; null and absent mean no limit of our own")
    func restRateLimit() async throws {
        let counting = FixedWindowLimits(style: .none, [])
        let fake = FakeJSONAPI(pageSize: 10, limits: counting)
        for id in 1...200 { await fake.add(id: id, updatedAt: Date(), name: "Item \(id)") }
        try await withFakeServer(fake.router) { port in
            let (ids, _) = try await Self.readRest(port: port, extra: ["rate_limit": ["per_second": 4]])
            #expect(ids == 200)
            #expect(counting.stats.requests == 21)
            #expect(counting.busiest(seconds: 1) <= 4)

            for extra in [["rate_limit": JSONValue.null], [:]] {
                let (_, connector) = try await Self.readRest(port: port, extra: extra)
                #expect(connector.http.limiter.policy.budget("/items/offset").limit == .unlimited)
            }
            let before = counting.stats.requests
            _ = try await Self.readRest(port: port, extra: ["rate_limit": .null])
            #expect(counting.stats.requests - before == 21)
        }
    }

    @Test("rest rate_limit: zero, negative, absurd, fractional and unknown members are refused at config.rate_limit")
    func restRateLimitSchema() {
        let schema = RestProvider.descriptor.configSchema
        func paths(_ rateLimit: JSONValue) -> [String] {
            let config: JSONValue = [
                "base_url": "https://x.test", "rate_limit": rateLimit, "streams": [["name": "a", "path": "/a", "primary_key": "id"]],
            ]
            return JSONSchema.validate(config, against: schema, at: "config").map(\.path)
        }
        #expect(paths(["per_second": 0]) == ["config.rate_limit.per_second"])
        #expect(paths(["per_minute": -5]) == ["config.rate_limit.per_minute"])
        #expect(paths(["per_second": 1e12]) == ["config.rate_limit.per_second"])
        #expect(paths(["per_minute": 2.5]) == ["config.rate_limit.per_minute"])
        #expect(!paths(["burst": 5]).isEmpty)
        #expect(!paths("fast").isEmpty)
        #expect(paths(["per_second": 5, "per_minute": 100]).isEmpty)
        #expect(paths(["per_minute": 100]).isEmpty)
        #expect(paths(.null).isEmpty)
    }

    @Test("hostile RateLimit values are clamped: negative, huge, inf, nan, text, epoch seconds and milliseconds, a year")
    func hostileValuesClamped() {
        let now = Date(timeIntervalSince1970: 2_000_000_000)
        func read(_ pairs: [(String, String)], longest: Duration = .seconds(60)) -> RateLimitHeaders? {
            var headers = HTTPHeaders()
            for (name, value) in pairs { headers.add(name: name, value: value) }
            return RateLimitHeaders.read(headers, longest: longest, now: now)
        }
        #expect(read([("RateLimit-Remaining", "-5"), ("RateLimit-Reset", "3")]) == RateLimitHeaders(remaining: 0, reset: .seconds(3)))
        #expect(read([("RateLimit-Remaining", "1e300"), ("RateLimit-Reset", "-1")]) == RateLimitHeaders(remaining: 1_000_000_000, reset: .zero))
        #expect(read([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "31536000")]) == RateLimitHeaders(remaining: 0, reset: .seconds(60)))
        #expect(read([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1e308")]) == RateLimitHeaders(remaining: 0, reset: .seconds(60)))
        #expect(read([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "inf")]) == RateLimitHeaders(remaining: 0, reset: nil))
        #expect(read([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "soon")]) == RateLimitHeaders(remaining: 0, reset: nil))
        #expect(read([("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "2000000010")]) == RateLimitHeaders(remaining: 0, reset: .seconds(10)))
        #expect(read([("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "2000000005000")]) == RateLimitHeaders(remaining: 0, reset: .seconds(5)))
        #expect(read([("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1000000000")]) == RateLimitHeaders(remaining: 0, reset: .zero))
        #expect(
            read([("RateLimit-Remaining", "7, 7;w=1, 699;w=60"), ("RateLimit-Reset", "2;w=1")]) == RateLimitHeaders(remaining: 7, reset: .seconds(2))
        )
        #expect(read([("RateLimit", "limit=10, remaining=0, reset=4")]) == RateLimitHeaders(remaining: 0, reset: .seconds(4)))
        #expect(read([("RateLimit", #""default";r=2;t=9"#)]) == RateLimitHeaders(remaining: 2, reset: .seconds(9)))
        #expect(
            read([("RateLimit-Reset", "0x1p80"), ("RateLimit-Remaining", "0")], longest: .milliseconds(20))
                == RateLimitHeaders(remaining: 0, reset: .milliseconds(20))
        )
        for value in ["inf", "-inf", "nan", "", "many", "99999999999999999999999999999999999999", ";1"] {
            #expect(read([("RateLimit-Remaining", value), ("RateLimit-Reset", "1")]) == nil, "\(value)")
        }
        #expect(read([]) == nil)
    }

    static let hostileHeaders: [[(String, String)]] = [
        [("RateLimit-Remaining", "0"), ("RateLimit-Reset", "31536000")],
        [("RateLimit-Remaining", "-99999999999999999999"), ("RateLimit-Reset", "1e308")],
        [("RateLimit-Remaining", "0"), ("RateLimit-Reset", "inf")],
        [("RateLimit-Remaining", "nan"), ("RateLimit-Reset", "nan")],
        [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "99999999999999")],
        [("RateLimit", "remaining=0, reset=9e99")],
        [("RateLimit", String(repeating: "r=0;", count: 500))],
        [("RateLimit-Remaining", "--5"), ("RateLimit-Reset", "-0")],
    ]

    @Test("hostile RateLimit headers hold an endpoint back for at most the clamp (maxRetryAfter), never a year")
    func hostileHeadersWaitAtMostTheClamp() async throws {
        let limiter = RateLimiter(.uniform(.unlimited))
        for pairs in Self.hostileHeaders {
            var headers = HTTPHeaders()
            for (name, value) in pairs { headers.add(name: name, value: value) }
            let ticket = try await limiter.acquire(path: "/x")
            let wait = limiter.finish(ticket, headers: headers, longest: .milliseconds(300))
            #expect((wait ?? .zero) <= .milliseconds(300), "\(pairs)")
        }
    }

    @Test("hostile RateLimit headers on the wire neither trap nor fail a request")
    func hostileHeadersThroughTheWire() async throws {
        let script = AnswerScript(Self.hostileHeaders.map { RawAnswer.json(headers: $0, "{}") } + [.json("{}")])
        try await ScriptedServer.with(script) { port in
            let http = try ProviderHTTPTests.http(port: port, limits: ConnectorLimits(maxAttempts: 1, maxRetryAfter: .milliseconds(300)))
            for _ in 0...Self.hostileHeaders.count { _ = try await http.get(http.url("/x")) }
            #expect(await script.requests.count == Self.hostileHeaders.count + 1)
        }
    }

    @Test("a 429 pauses every endpoint of the account and is counted")
    func throttledPausesAll() async throws {
        let limiter = RateLimiter(KlaviyoRateLimits.policy)
        #expect(limiter.throttled(for: .milliseconds(300)) == 1)
        let start = ContinuousClock.now
        let ticket = try await limiter.acquire(path: "/api/events/")
        #expect(ContinuousClock.now - start >= .milliseconds(250))
        limiter.finish(ticket, headers: nil, longest: .seconds(1))
        #expect(limiter.throttledCount == 1)
    }

    @Test("a window's slots free only a window after each answer: limit + 1 requests take a window, in flight or not")
    func windowBudget() {
        var window = WindowBudget(length: .seconds(1), limit: 2)
        let start = ContinuousClock.now
        #expect(window.wait(at: start) == nil)
        window.take()
        #expect(window.wait(at: start) == nil)
        window.take()
        // Both in flight: nothing frees until an answer comes.
        #expect(window.wait(at: start) == WindowBudget.inFlightPoll)
        window.finish(at: start + .milliseconds(100))
        #expect(window.wait(at: start + .milliseconds(200)) == .milliseconds(900))
        #expect(window.wait(at: start + .milliseconds(1100)) == nil)
    }
}
