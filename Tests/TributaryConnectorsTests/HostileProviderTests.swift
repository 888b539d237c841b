import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

/// Random stream configs and random provider answers through the HTTP layer and every connector:
/// each call ends in success or a `ConnectorError`. A trap would kill the test process, so a run
/// that finishes proves there was none; the seed printed first replays it
/// (`TRIBUTARY_FUZZ_SEED=<seed> ./scripts/test --filter HostileProviderTests`).
/// Found so far: Foundation's JSON decoder trapping on `"[" × 513` (see `decode(_:fromOutside:)`).
@Suite("Hostile configs and providers: a ConnectorError, never a trap")
struct HostileProviderTests {
    static let seed: UInt64 = {
        let given = ProcessInfo.processInfo.environment["TRIBUTARY_FUZZ_SEED"].flatMap { UInt64($0) }
        let seed = given ?? UInt64.random(in: 1...UInt64.max)
        print("HostileProviderTests: seed \(seed) (replay with TRIBUTARY_FUZZ_SEED=\(seed))")
        return seed
    }()

    /// 300 by default (a few seconds), within 25 s; `TRIBUTARY_FUZZ_CASES` for a longer soak.
    static let cases = ProcessInfo.processInfo.environment["TRIBUTARY_FUZZ_CASES"].flatMap { Int($0) } ?? 300
    static let budget: Duration = ProcessInfo.processInfo.environment["TRIBUTARY_FUZZ_CASES"] == nil ? .seconds(25) : .seconds(3600)

    @Test("random configs, credentials and answers through every connector")
    func connectors() async throws {
        let seed = Self.seed
        let script = AnswerScript()
        try await ScriptedServer.with(script) { port in
            var fuzz = Fuzz(seed: seed)
            // Bounded in time as well, for a loaded machine: the cases not reached are the same next
            // time with the same seed, so a replay still reproduces.
            let stop = ContinuousClock.now + Self.budget
            var ran = 0
            defer { print("HostileProviderTests: seed \(seed), \(ran) of \(Self.cases) cases") }
            for index in 0..<Self.cases where ContinuousClock.now < stop {
                ran += 1
                let fuzzCase = FuzzCase.draw(&fuzz, port: port)
                await script.reset(fuzzCase.answers, fallback: fuzzCase.fallback)
                if let problem = await fuzzCase.run() {
                    Issue.record("seed \(seed), case \(index) (\(fuzzCase.summary)): \(problem)")
                }
            }
        }
    }

    @Test("random paths, queries and next links make URLs on the configured origin, or an error")
    func urls() throws {
        var fuzz = Fuzz(seed: Self.seed &+ 1)
        for index in 0..<3000 {
            let base = fuzz.pick(["http://127.0.0.1:9", "https://api.example.test/v2/", "http://[::1]:8080/a%20b", "https://x.test"])
            let http = try ProviderHTTP(
                baseURL: base,
                credential: .apiKey(fuzz.text()),
                keyPlacement: fuzz.pick([.header("X-Key"), .query(fuzz.text(1...4)), .basic(username: fuzz.text())]),
                limiter: RateLimiter(.uniform(RateLimit(perSecond: 1))),
                logger: testContext([:], credential: .none).logger
            )
            let path = fuzz.pick(["/", "/items"]) + fuzz.text(0...12)
            let query = (0..<fuzz.int(0...3)).map { _ in (fuzz.text(), fuzz.text()) }
            let url = http.url(path, query: query)
            #expect(throws: Never.self, "seed \(Self.seed), url \(index): \(path)") { try http.checkOrigin(url) }
            let link = fuzz.chance(0.5) ? fuzz.link(port: 9) : fuzz.text(0...16)
            do {
                let followed = try http.follow(link, from: fuzz.chance(0.5) ? url : nil)
                #expect(throws: Never.self, "seed \(Self.seed), link \(index): \(link)") { try http.checkOrigin(followed) }
            } catch let error as ConnectorError {
                #expect(error.code == "malformed_response")
            }
            _ = http.withQueryKey(url)
        }
    }
}

/// One draw: a provider, its config and credential, the limits, what to call, and the answers.
struct FuzzCase {
    var provider: String
    var config: [String: JSONValue]
    var credential: ConnectorCredential
    var limits: ConnectorLimits
    var stream: String?
    var cursor: JSONValue?
    var historicalDays: Int
    var answers: [RawAnswer]
    /// What the provider answers once `answers` ran out: an empty last page, or a refusal.
    var fallback: RawAnswer

    var summary: String {
        "\(provider) \(stream.map { "read \($0)" } ?? "check"), config \(JSONValue.object(config).jsonText.prefix(300))"
    }

    static func draw(_ fuzz: inout Fuzz, port: Int) -> FuzzCase {
        fuzz.hostility = fuzz.pick([0, 0.03, 0.1, 0.3])
        let provider = fuzz.pick(["rest", "rest", "rest", "klaviyo", "keap", "demo"])
        let config: [String: JSONValue] =
            switch provider {
            case "rest": restConfig(&fuzz, port: port)
            case "demo": demoConfig(&fuzz)
            default: httpConfig(&fuzz, port: port)
            }
        let streams: [String] =
            switch provider {
            case "klaviyo": KlaviyoStream.all.map(\.name)
            case "keap": ["contacts", "emails"]
            case "demo": ["contacts", "events", "lists"]
            default: RestProvider.streams(config: config).map(\.name)
            }
        let credential: ConnectorCredential = fuzz.pick([
            .none, .apiKey("key-\(fuzz.int(0...99))"), .apiKey(fuzz.text()), .oauth2(FuzzTokens(token: fuzz.text(), fails: fuzz.chance(0.2))),
        ])
        let limits = ConnectorLimits(
            maxPagesPerStream: fuzz.int(1...4),
            requestTimeout: .seconds(2),
            maxResponseBytes: fuzz.pick([64 << 10, 32 << 20]),
            maxAttempts: fuzz.int(1...2),
            retryBase: .milliseconds(1),
            maxRetryAfter: .milliseconds(20)
        )
        let cursor: JSONValue? = fuzz.pick([
            nil, .string("2024-01-01T00:00:00Z"), .string(fuzz.text()), ["since": .string(fuzz.text()), "skip": .number(1e300)],
            ["since": "2024-01-01T00:00:00.000Z", "skip": .number(-3)], ["day": "9999-12-31"], ["day": .string(fuzz.text())],
            ["run": .number(1e300), "offset": .number(-1)], ["run": .number(.nan), "offset": .number(.infinity)], ["run": 2, "offset": 5],
        ])
        let answers = (0..<fuzz.int(0...6)).map { _ in fuzz.answer(provider: provider, port: port) }
        let stream: String? = fuzz.chance(0.25) ? nil : (fuzz.chance(0.9) && !streams.isEmpty ? fuzz.pick(streams) : "no_such_stream")
        return FuzzCase(
            provider: provider,
            config: config,
            credential: credential,
            limits: limits,
            stream: stream,
            cursor: cursor,
            historicalDays: fuzz.pick([1, 2, 90, 3650]),
            answers: answers,
            fallback: fuzz.pick([
                .json(status: 404, #"{"error":"script ended"}"#), .json("[]"),
                .json(#"{"data":[],"contacts":[],"emails":[],"results":[],"items":[],"next":null,"links":{"next":null}}"#),
            ])
        )
    }

    /// Nil when the call ended in success or a `ConnectorError`; otherwise what went wrong.
    func run() async -> String? {
        var context = testContext(config, credential: credential, limits: limits)
        context.logger.logLevel = .critical  // retries of hostile answers are expected here
        do {
            guard let connector = try ConnectorRegistry().connector(for: provider, context: context) else { return "no connector" }
            guard let stream else {
                try await connector.check()
                return nil
            }
            let descriptor =
                ProviderCatalog.standard.provider(id: provider)?.streams(config: config).first { $0.name == stream }
                ?? StreamDescriptor(name: stream, primaryKey: ["id"], cursorField: nil)
            let checked = BatchChecker()
            try await connector.read(StreamRequest(stream: descriptor, cursor: cursor, historicalSyncDays: historicalDays)) { batch in
                await checked.check(batch)
            }
            return await checked.problem
        } catch is ConnectorError {
            return nil
        } catch {
            return "ended in \(type(of: error)): \(error)"
        }
    }

    static func httpConfig(_ fuzz: inout Fuzz, port: Int) -> [String: JSONValue] {
        var config: [String: JSONValue] = ["base_url": .string(baseURL(&fuzz, port: port))]
        if fuzz.chance(0.5) { config["historical_sync_days"] = fuzz.choose([1, 90, 3650], [0, -5, .number(1e300), "x"]) }
        if fuzz.chance(fuzz.hostility / 4) { config["extra"] = "not allowed" }
        return config
    }

    static func baseURL(_ fuzz: inout Fuzz, port: Int) -> String {
        fuzz.choose(
            ["http://127.0.0.1:\(port)", "http://127.0.0.1:\(port)/api/", "http://127.0.0.1:\(port)/crm/rest"],
            [
                "http://127.0.0.2:\(port)", "http://localhost:\(port)", "http://[::1]:\(port)", "unix:///var/run/docker.sock", "ftp://127.0.0.1/",
                "http://127.0.0.1:\(port)/a b", "http://169.254.169.254/", "http://0.0.0.0:\(port)", fuzz.text(),
            ]
        )
    }

    static func demoConfig(_ fuzz: inout Fuzz) -> [String: JSONValue] {
        var config: [String: JSONValue] = [:]
        let values: [String: (valid: [JSONValue], hostile: [JSONValue])] = [
            "records_per_run": ([0, 1, 7, 120, 2000], [1_000_001, -1, .number(1e300), "many"]),
            "spike_multiplier": ([1, 2, 100], [0, 1001, 1000]),
            "spike_run": ([1, 2], [0]),
            "contacts_pool": ([1, 5, 1_000_000], [0]),
            "batch_size": ([1, 10, 5000], [0, 50_001]),
            "batch_delay_ms": ([0, 1], [-1]),
            "fail_on_run": ([1, 2], [0]),
            "lists_count": ([0, 3], [100_001]),
            "seed": ([1, -7], [.number(1e300)]),
        ]
        for (key, options) in values.sorted(by: { $0.key < $1.key }) where fuzz.chance(0.4) {
            config[key] = fuzz.choose(options.valid, options.hostile)
        }
        return config
    }

    static func restConfig(_ fuzz: inout Fuzz, port: Int) -> [String: JSONValue] {
        var config: [String: JSONValue] = ["base_url": .string(baseURL(&fuzz, port: port))]
        if fuzz.chance(0.3) { config["historical_sync_days"] = fuzz.choose([1, 90], [0, .number(1e300)]) }
        if fuzz.chance(0.7) { config["auth"] = restAuth(&fuzz) }
        let count = fuzz.choose([1, 1, 2], [0])
        config["streams"] = fuzz.chance(fuzz.hostility / 5) ? "not a list" : .array((0..<count).map { _ in restStream(&fuzz) })
        return config
    }

    static func restAuth(_ fuzz: inout Fuzz) -> JSONValue {
        let type = fuzz.choose(["none", "api_key_header", "api_key_query", "bearer", "basic", "oauth2"], ["other"])
        var auth: [String: JSONValue] = ["type": .string(type)]
        let stray = fuzz.chance(fuzz.hostility)  // members another type has
        if type == "api_key_header" || stray {
            auth["header"] = .string(
                fuzz.choose(["X-Token", "Authorization"], ["Host", "Metadata-Flavor", "X Bad", "transfer-encoding", fuzz.text(1...4)])
            )
            if fuzz.chance(0.5) { auth["prefix"] = .string(fuzz.choose(["", "Bearer "], ["a\r\nHost: evil", fuzz.text()])) }
        }
        if type == "api_key_query" || stray { auth["param"] = .string(fuzz.choose(["api_key", "k"], ["", fuzz.text()])) }
        if type == "basic" || stray { auth["username"] = .string(fuzz.choose(["acme", "a:b"], ["", fuzz.text()])) }
        return .object(auth)
    }

    static func restStream(_ fuzz: inout Fuzz) -> JSONValue {
        var stream: [String: JSONValue] = [
            "name": .string(fuzz.choose(["items", "x_1"], ["Items", ""])),
            "path": .string(
                fuzz.choose(
                    ["/items", "/x?a b", "/x?a=b c&d=%zz", "/%", "/../admin", "/items?x=1#y", "/😀", "/" + fuzz.text()],
                    ["items", fuzz.text()]
                )
            ),
            "primary_key": .string(fuzz.choose(["id", "id", "name", fuzz.text(1...3)], [""])),
        ]
        if fuzz.chance(0.8) {
            stream["records_path"] = .string(fuzz.choose(["", "/results", "/data/items", "/items", "/0", "/x~1y", "/" + fuzz.text()], ["x"]))
        }
        if fuzz.chance(0.4) { stream["cursor_field"] = .string(fuzz.choose(["updated_at", "updated", "id", fuzz.text(1...3)], [""])) }
        if fuzz.chance(0.3) { stream["cursor_param"] = .string(fuzz.choose(["updated_since", fuzz.text(1...3)], [""])) }
        if fuzz.chance(0.3) { stream["query"] = .object([fuzz.text(1...3): .string(fuzz.text()), "status": "open"]) }
        if fuzz.chance(0.8) { stream["pagination"] = pagination(&fuzz) }
        return .object(stream)
    }

    static func pagination(_ fuzz: inout Fuzz) -> JSONValue {
        let valid: [JSONValue] = [1, 2, 10, 10_000]
        let hostile: [JSONValue] = [0, -1, 10_001, .number(1e300), .number(9.2e18), "x"]
        switch fuzz.choose(["none", "next_url", "link_header", "cursor", "offset", "page"], ["bogus"]) {
        case "next_url": return ["type": "next_url", "next_url_path": .string(fuzz.choose(["/next", "/links/next", "/" + fuzz.text()], ["next"]))]
        case "cursor":
            return [
                "type": "cursor", "cursor_param": .string(fuzz.choose(["cursor", fuzz.text(1...3)], [""])),
                "next_cursor_path": .string(fuzz.choose(["/meta/next_cursor", "/next"], [fuzz.text()])),
            ]
        case "offset": return ["type": "offset", "limit": fuzz.choose(valid, hostile), "offset_param": "offset", "limit_param": "limit"]
        case "page":
            return ["type": "page", "size": fuzz.choose(valid, hostile), "start_page": fuzz.choose(valid + [0, .number(9.2e18)], hostile)]
        case let other: return ["type": .string(other)]
        }
    }
}

/// OAuth tokens for fuzz cases: always the same one, or a refusal.
struct FuzzTokens: AccessTokenSource {
    let token: String
    let fails: Bool

    func accessToken(rejected: String?) async throws -> String {
        if fails { throw ConnectorError(code: "token_refresh_failed", message: "no token", retryable: true) }
        return token
    }
}

/// What a read emitted must be storable: each record JSON text Postgres's jsonb can hold.
actor BatchChecker {
    private(set) var problem: String?

    func check(_ batch: RecordBatch) {
        for record in batch.records where problem == nil {
            if record.json.contains("\\u0000") { problem = "record \(record.id.prefix(40)) holds a NUL" }
            if (try? JSONDecoder().decode(JSONValue.self, fromOutside: Data(record.json.utf8))) == nil {
                problem = "record \(record.id.prefix(40)) is not JSON"
            }
        }
    }
}
