import Fakes
import Foundation
import NIOHTTP1
import Testing

@testable import TributaryConnectors

@Suite("The HTTP layer against hostile configs and providers")
struct ProviderHTTPTests {
    static func http(
        port: Int,
        host: String = "127.0.0.1",
        path: String = "",
        egress: EgressPolicy = testEgress,
        limits: ConnectorLimits = ConnectorLimits(maxAttempts: 1)
    ) throws -> ProviderHTTP {
        try ProviderHTTP(
            baseURL: "http://\(host):\(port)\(path)",
            credential: .apiKey("secret-key-1"),
            keyPlacement: .header("X-Key"),
            limiter: RateLimiter(.uniform(RateLimit(perSecond: 100))),
            logger: testContext([:], credential: .none).logger,
            egress: egress,
            limits: limits
        )
    }

    @Test("configured paths and queries with spaces, quotes, stray % and non-ASCII are encoded, never trap")
    func configuredQueries() throws {
        let http = try Self.http(port: 1, path: "/v1")
        #expect(http.url("/x?a b") == "http://127.0.0.1:1/v1/x?a%20b")
        #expect(http.url("/x?a=b c&d=%zz&e=%41", query: [("p", "q r")]) == "http://127.0.0.1:1/v1/x?a=b%20c&d=%25zz&e=%41&p=q%20r")
        #expect(http.url("/sp ace/ü/\"q\"?x=\"y\"#frag") == "http://127.0.0.1:1/v1/sp%20ace/%C3%BC/%22q%22?x=%22y%22%23frag")
        #expect(http.url("/a%20b") == "http://127.0.0.1:1/v1/a%20b")
        #expect(http.url("no-slash?") == "http://127.0.0.1:1/v1/no-slash")
        for path in ["/x?a b", "/?", "/%", "/%%%?%%%", "/\u{0}?\u{0}=\u{0}", "/[::1]?[]={}", "/x?a=b?c=d&&&==", "//evil.test/x", "/😀?😀=😀"] {
            let url = http.url(path, query: [("k\u{0}", "v\u{FFFF}")])
            #expect(url.hasPrefix("http://127.0.0.1:1/v1/"), "\(path) → \(url)")
            #expect(URL(string: url) != nil, "\(path) → \(url)")
        }
    }

    @Test("next links are re-based onto the configured origin, or refused: never passed on as they came")
    func followFailsClosed() throws {
        let http = try Self.http(port: 8080, path: "/api")
        let current = "http://127.0.0.1:8080/api/items?page=1"
        #expect(try http.follow("https://evil.test:9/api/items?page=2", from: current) == "http://127.0.0.1:8080/api/items?page=2")
        #expect(try http.follow("/api/items?page=2") == "http://127.0.0.1:8080/api/items?page=2")
        #expect(try http.follow("items?page=2", from: current) == "http://127.0.0.1:8080/api/items?page=2")
        #expect(try http.follow("?page=2", from: current) == "http://127.0.0.1:8080/api/items?page=2")
        #expect(try http.follow("//169.254.169.254/latest/meta-data", from: current) == "http://127.0.0.1:8080/latest/meta-data")
        #expect(try http.follow("http://evil.test", from: current) == "http://127.0.0.1:8080/")
        for odd in ["\u{0}", "%zz", "a b"] {  // encoded, and kept on the origin
            #expect(try http.follow(odd, from: current).hasPrefix("http://127.0.0.1:8080/api/"))
        }
        for link in [
            "unix:///var/run/docker.sock", "http+unix://%2Fvar%2Frun%2Fdocker.sock/info", "file:///etc/passwd", "ftp://x/y",
            "javascript:alert(1)", "http://a b/", "ht tp://x", "http://[::1",
        ] {
            let error = try #require(throws: ConnectorError.self, "\(link)") { try http.follow(link, from: current) }
            #expect(error.code == "malformed_response")
        }
    }

    @Test("a URL off the configured origin is refused before anything is sent")
    func originIsKept() async throws {
        let http = try Self.http(port: 8080)
        for url in ["http://127.0.0.2:8080/x", "http://127.0.0.1:8081/x", "https://127.0.0.1:8080/x", "unix:///var/run/docker.sock", ""] {
            let error = try await #require(throws: ConnectorError.self, "\(url)") { try await http.get(url) }
            #expect(error.code == "invalid_url")
        }
    }

    @Test("Retry-After: huge, infinite, negative, NaN and far-future values are clamped, never trap")
    func retryAfterIsClamped() {
        func wait(_ value: String) -> Duration? {
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: value)
            return ProviderHTTP.retryAfter(headers)
        }
        #expect(wait("1e19") == .seconds(86_400))
        #expect(wait("99999999999999999999999") == .seconds(86_400))
        #expect(wait("Fri, 31 Dec 9999 23:59:59 GMT") == .seconds(86_400))
        #expect(wait("-1") == .zero)
        #expect(wait("-1e300") == .zero)
        #expect(wait("Thu, 01 Jan 1970 00:00:00 GMT") == .zero)
        #expect(wait("2.5") == .milliseconds(2500))
        #expect(wait("0x1p80") == .seconds(86_400))
        for value in ["inf", "-inf", "nan", "NaN", "infinity", "", "soon", "1e-400x"] {
            #expect(wait(value) == nil, "\(value)")
        }
    }

    @Test("a 429 asking to wait 1e19 seconds fails as rate limited at once")
    func hugeRetryAfterThroughTheWire() async throws {
        let script = AnswerScript([.json(status: 429, headers: [("Retry-After", "1e19")], "{}")])
        try await ScriptedServer.with(script) { port in
            let http = try Self.http(port: port, limits: ConnectorLimits(maxAttempts: 5))
            let error = try await #require(throws: ConnectorError.self) { try await http.get(http.url("/x")) }
            #expect(error.code == "rate_limited")
        }
    }

    @Test("keys that differ only by a NUL and U+FFFD keep one value, the same every time")
    func nulKeysCollide() throws {
        let text = #"{"a\u0000":1,"a\ufffd":2,"b":{"c\u0000":"x\u0000","c\ufffd":"y"},"d\u0000\ufffd":3,"d\ufffd\u0000":4}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let stored = value.jsonText
        #expect(!stored.contains("\\u0000"))
        #expect(stored == #"{"a�":2,"b":{"c�":"y"},"d��":3}"#)
        for _ in 0..<20 { #expect(value.jsonText == stored) }
    }

    @Test("a body ending right after its 513th unclosed bracket (which traps Foundation's decoder) is malformed, not a crash")
    func deepNestingAtTheEnd() async throws {
        let bodies = [String(repeating: "[", count: 513), String(repeating: "[", count: 512) + "{", String(repeating: #"{"":["#, count: 256) + "["]
        for body in bodies {
            #expect(throws: ConnectorError.self) { try ProviderHTTP.parse(Data(body.utf8), url: "http://x.test/deep") }
            #expect(ProviderHTTP.providerMessage(Data(body.utf8)).hasPrefix("[") || ProviderHTTP.providerMessage(Data(body.utf8)).hasPrefix("{"))
        }
        let script = AnswerScript([.json(String(repeating: "[", count: 513)), .json(status: 400, String(repeating: "[", count: 513))])
        try await ScriptedServer.with(script) { port in
            let http = try Self.http(port: port)
            #expect(try await #require(throws: ConnectorError.self) { try await http.getJSON(http.url("/a")) }.code == "malformed_response")
            #expect(try await #require(throws: ConnectorError.self) { try await http.getJSON(http.url("/b")) }.code == "provider_rejected")
        }
    }

    @Test("a provider that stays silent is given up on after 30 s of silence, and the message says so")
    func silentProvider() async throws {
        let script = AnswerScript([RawAnswer([], holdOpen: true)])
        try await ScriptedServer.with(script) { port in
            // The whole request may take minutes: it is the silence that ends it.
            let http = try Self.http(port: port, limits: ConnectorLimits(requestTimeout: .seconds(300), maxAttempts: 1))
            let error = try await #require(throws: ConnectorError.self) { try await http.get(http.url("/quiet")) }
            #expect(error.code == "provider_timeout")
            #expect(error.message == "/quiet sent nothing for 30 s, 1 times", "\(error.message)")
        }
    }

    @Test("a provider that trickles its body, or never answers, is given up on at the request timeout")
    func slowProviders() async throws {
        let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[".utf8)
        let trickle = RawAnswer(pieces: [head] + Array(repeating: Array(" ".utf8), count: 1000), pause: .milliseconds(100))
        let silent = RawAnswer([], holdOpen: true)
        let headOnly = RawAnswer(head, holdOpen: true)
        for answer in [trickle, silent, headOnly] {
            let script = AnswerScript([answer, answer])
            try await ScriptedServer.with(script) { port in
                let limits = ConnectorLimits(requestTimeout: .milliseconds(800), maxAttempts: 2, retryBase: .milliseconds(1))
                let http = try Self.http(port: port, limits: limits)
                let started = ContinuousClock.now
                let error = try await #require(throws: ConnectorError.self) { try await http.get(http.url("/slow")) }
                #expect(error.code == "provider_timeout")
                #expect(error.retryable)
                // Two attempts of 0.8 s, where the answer alone would take 100 s (or forever); the margin is
                // for a loaded machine.
                #expect(ContinuousClock.now - started < .seconds(40))
            }
        }
    }

    @Test("a body over the size limit fails as response_too_large")
    func sizeLimit() async throws {
        let script = AnswerScript([.json("[" + String(repeating: "1,", count: 100_000) + "1]")])
        try await ScriptedServer.with(script) { port in
            let http = try Self.http(port: port, limits: ConnectorLimits(maxResponseBytes: 64 << 10, maxAttempts: 1))
            let error = try await #require(throws: ConnectorError.self) { try await http.get(http.url("/big")) }
            #expect(error.code == "response_too_large")
        }
    }

    @Test("egress: the fake on 127.0.0.1 is reached; 127.0.0.2 and other internal hosts are refused without a request")
    func egressThroughTheWire() async throws {
        let script = AnswerScript([.json("[]"), .json("[]"), .json("[]")])
        try await ScriptedServer.with(script) { port in
            _ = try await Self.http(port: port).get(try Self.http(port: port).url("/ok"))
            for host in ["127.0.0.2", "localhost", "0.0.0.0", "[::1]", "169.254.169.254", "[::ffff:127.0.0.2]", "10.1.2.3"] {
                let http = try Self.http(port: port, host: host, limits: ConnectorLimits(maxAttempts: 3))
                let error = try await #require(throws: ConnectorError.self, "\(host)") { try await http.get(http.url("/ok")) }
                #expect(error.code == "egress_denied", "\(host): \(error)")
                #expect(!error.message.contains("127.0.0.1"))
            }
            // Without TRIBUTARY_EGRESS_ALLOW even the fake's own address is refused.
            let strict = try Self.http(port: port, egress: .publicOnly)
            #expect(try await #require(throws: ConnectorError.self) { try await strict.get(strict.url("/ok")) }.code == "egress_denied")
            #expect(await script.requests.count == 1)
        }
    }

    @Test("the connection goes to the address that was checked: a name nobody else can resolve is reached through its pin")
    func connectionsArePinned() async throws {
        let script = AnswerScript([.json(#"[{"id":1}]"#), .json(#"[{"id":2}]"#)])
        try await ScriptedServer.with(script) { port in
            let resolver = HostResolver { host in
                host == "pinned.invalid" ? [IPAddress("127.0.0.1")].compactMap { $0 } : []
            }
            let egress = EgressPolicy(allowed: testEgress.allowed, resolver: resolver)
            let http = try Self.http(port: port, host: "pinned.invalid", egress: egress)
            let first = try await http.getJSON(http.url("/a"))
            let second = try await http.getJSON(http.url("/b"))
            #expect(first == [["id": 1]])
            #expect(second == [["id": 2]])
            #expect(await script.requests == ["GET /a HTTP/1.1", "GET /b HTTP/1.1"])
            // The same name, resolving to an address the policy refuses, is refused.
            let rebound = EgressPolicy(allowed: testEgress.allowed, resolver: HostResolver { _ in [IPAddress("127.0.0.2")].compactMap { $0 } })
            let refused = try Self.http(port: port, host: "pinned.invalid", egress: rebound)
            #expect(try await #require(throws: ConnectorError.self) { try await refused.get(refused.url("/c")) }.code == "egress_denied")
        }
    }

    @Test("headers a tenant may name: Host, hop-by-hop, Content-Length, Proxy-* and Metadata* are refused, any case")
    func tenantHeaders() throws {
        for name in [
            "Host", "host", "HOST", "Connection", "keep-alive", "Proxy-Authorization", "proxy-connection", "TE", "Trailer",
            "Transfer-Encoding", "Upgrade", "Content-Length", "Metadata", "Metadata-Flavor", "metadata-flavor", "X-aws-ec2-metadata-token",
            "X Bad", "X-Bad\r\nHost", "", "Ünicode", "a:b",
        ] {
            #expect(TenantHeaderRule.refusal(name) != nil, "\(name)")
        }
        for name in ["X-Token", "Authorization", "X-Api-Key", "api_key", "Klaviyo-API-Key"] {
            #expect(TenantHeaderRule.refusal(name) == nil, "\(name)")
        }
        let error = try #require(throws: ConnectorError.self) {
            try ProviderHTTP(
                baseURL: "https://x.test",
                credential: .apiKey("k"),
                keyPlacement: .header("Host"),
                limiter: RateLimiter(.uniform(RateLimit(perSecond: 1))),
                logger: testContext([:], credential: .none).logger
            )
        }
        #expect(error.code == "invalid_config")
    }

    @Test("rest config: a refused header is a violation at config.auth.header; a prefix with a line break too")
    func restHeaderSchema() {
        let schema = RestProvider.descriptor.configSchema
        func paths(_ auth: JSONValue) -> [String] {
            let config: JSONValue = ["base_url": "https://x.test", "auth": auth, "streams": [["name": "a", "path": "/a", "primary_key": "id"]]]
            return JSONSchema.validate(config, against: schema, at: "config").map(\.path)
        }
        for name in ["Host", "metadata-flavor", "Transfer-Encoding", "Proxy-Authorization", "Content-Length", "X Y"] {
            #expect(paths(["type": "api_key_header", "header": .string(name)]) == ["config.auth.header"], "\(name)")
        }
        #expect(paths(["type": "api_key_header", "header": "X-Token", "prefix": "Token\r\nHost: evil "]) == ["config.auth.prefix"])
        #expect(paths(["type": "api_key_header", "header": "X-Token", "prefix": "Token "]).isEmpty)
    }

    @Test("demo: records_per_run × spike_multiplier over a million is a violation naming the field")
    func demoVolume() {
        let schema = DemoProvider.descriptor.configSchema
        func faults(_ config: JSONValue) -> [String] {
            JSONSchema.validate(config, against: schema, at: "config").map(\.description)
        }
        #expect(faults(["records_per_run": 1000, "spike_multiplier": 1000]).isEmpty)
        #expect(
            faults(["records_per_run": 2000, "spike_multiplier": 600]) == ["config.spike_multiplier times records_per_run must be at most 1000000"]
        )
        #expect(faults(["records_per_run": 1_000_001]).map { $0.hasPrefix("config.records_per_run") } == [true])
        #expect(faults(["records_per_run": 1_000_000]).isEmpty)
    }
}
