import AsyncHTTPClient
import Configuration
import Fakes
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing
import TributaryConnectors

@testable import Tributary

/// A tenant pointing its integration at internal addresses, at headers that steer the request,
/// or at a provider that never ends: each refused, the server unharmed. The tests allow
/// 127.0.0.1/32 (their fakes) and nothing else.
@Suite("Egress: what a tenant's integration may reach")
struct EgressTests {
    static func rest(_ base: String, path: String = "/items/plain", pagination: JSON = ["type": "none"]) -> IntegrationBody {
        IntegrationBody(
            provider: "rest",
            name: "R",
            config: [
                "base_url": .string(base), "auth": ["type": "none"],
                "streams": [["name": "items", "path": .string(path), "records_path": "", "primary_key": "id", "pagination": pagination]],
            ]
        )
    }

    static func check(_ client: TestClient, tenant: String, integration: String) async throws -> CheckView {
        try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(integration)/check").decode(CheckView.self)
    }

    @Test("127.0.0.1 (allowed) is reached; 127.0.0.2, localhost, 0.0.0.0, [::1] and 169.254.169.254 are refused by check and by syncs")
    func internalAddressesAreRefused() async throws {
        let fake = FakeJSONAPI()
        await fake.add(id: 1, updatedAt: Date(), name: "One")
        try await withFakeServer(fake.router) { port in
            try await TestApp.run(extra: ["tributary.max.attempts": "1"], worker: true) { client in
                let tenant = try await client.createTenant()
                let allowed = try await client.createIntegration(tenant: tenant, Self.rest("http://127.0.0.1:\(port)"))
                #expect(try await client.waitForRun(tenant: tenant, integration: allowed).status == "succeeded")
                #expect(try await Self.check(client, tenant: tenant, integration: allowed).ok)
                let seen = await fake.requests.count

                for host in ["127.0.0.2", "localhost", "0.0.0.0", "[::1]", "169.254.169.254", "[::ffff:127.0.0.2]"] {
                    let id = try await client.createIntegration(tenant: tenant, Self.rest("http://\(host):\(port)"))
                    let run = try await client.waitForRun(tenant: tenant, integration: id)
                    #expect(run.status == "failed", "\(host)")
                    #expect(run.error?.code == "egress_denied", "\(host): \(run)")
                    let checked = try await Self.check(client, tenant: tenant, integration: id)
                    #expect(checked.ok == false)
                    #expect(checked.error?.code == "egress_denied", "\(host)")
                    let named = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                    #expect(checked.error?.message.contains(named) == true, "\(host): \(String(describing: checked.error))")
                    #expect(checked.error?.message.contains("127.0.0.1") == false)
                }
                #expect(await fake.requests.count == seen, "no refused request reached the fake")
                #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
            }
        }
    }

    @Test("headers a tenant may set: Host, hop-by-hop, Content-Length and Metadata* answer 422 naming config.auth.header")
    func steeringHeadersAreRefused() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            for header in ["Host", "connection", "Transfer-Encoding", "Content-Length", "Metadata-Flavor", "metadata", "Proxy-Authorization", "X Y"] {
                var body = Self.rest("https://api.example.test")
                body.config?["auth"] = ["type": "api_key_header", "header": .string(header)]
                body.credential = .apiKey("k-1")
                let reply = try await client.send(.post, "/v1/tenants/\(tenant)/integrations", body: body)
                #expect(reply.status == .unprocessableContent, "\(header)")
                #expect(reply.errorFields == ["config.auth.header"], "\(header)")
            }
            var fine = Self.rest("https://api.example.test")
            fine.config?["auth"] = ["type": "api_key_header", "header": "X-Api-Key", "prefix": "Token "]
            fine.credential = .apiKey("k-1")
            #expect(try await client.send(.post, "/v1/tenants/\(tenant)/integrations", body: fine).status == .created)
        }
    }

    @Test("demo: more than a million records a run answers 422 naming the field")
    func demoVolumeIsBounded() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let path = "/v1/tenants/\(tenant)/integrations"
            let spiky = IntegrationBody(provider: "demo", name: "D", config: ["records_per_run": 5000, "spike_run": 2, "spike_multiplier": 201])
            let reply = try await client.send(.post, path, body: spiky)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorFields == ["config.spike_multiplier"])
            let big = try await client.send(.post, path, body: IntegrationBody(provider: "demo", name: "D", config: ["records_per_run": 1_000_001]))
            #expect(big.errorFields == ["config.records_per_run"])
            let fine = IntegrationBody(provider: "demo", name: "D", config: ["records_per_run": 5000, "spike_multiplier": 200])
            #expect(try await client.send(.post, path, body: fine).status == .created)
        }
    }

    @Test("a stream that keeps paging past TRIBUTARY_MAX_PAGES_PER_STREAM fails its run with page_limit_exceeded")
    func pageLimit() async throws {
        let fake = FakeJSONAPI(pageSize: 10)
        for id in 1...35 { await fake.add(id: id, updatedAt: Date(timeIntervalSinceNow: -Double(id)), name: "Item \(id)") }
        try await withFakeServer(fake.router) { port in
            let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.max.pages.per.stream": "3", "tributary.max.attempts": "1"]
            try await TestApp.run(extra: extra, worker: true) { client in
                let tenant = try await client.createTenant()
                let body = Self.rest("http://127.0.0.1:\(port)", path: "/items/link", pagination: ["type": "link_header"])
                let id = try await client.createIntegration(tenant: tenant, body)
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "failed")
                #expect(run.error?.code == "page_limit_exceeded", "\(run)")
                #expect(run.error?.message.contains("3 pages") == true)
            }
        }
    }

    @Test("a provider that never finishes its answer is given up on at TRIBUTARY_PROVIDER_TIMEOUT_SECONDS")
    func slowProvider() async throws {
        let head = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[".utf8)
        let script = AnswerScript([], fallback: RawAnswer(head, holdOpen: true))
        try await ScriptedServer.with(script) { port in
            let extra: [AbsoluteConfigKey: ConfigValue] = ["tributary.provider.timeout.seconds": "1", "tributary.max.attempts": "1"]
            try await TestApp.run(extra: extra, worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.createIntegration(tenant: tenant, Self.rest("http://127.0.0.1:\(port)"))
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "failed")
                #expect(run.error?.code == "provider_timeout", "\(run)")
                #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
            }
        }
    }

    @Test("TRIBUTARY_EGRESS_ALLOW: a bad value stops the process naming it; a good one reaches run-tasks")
    func allowSetting() async throws {
        let database = try await TestDatabase.create()
        let bad = try #require(throws: ConfigError.self) {
            try TestApp.config(database: database, extra: ["tributary.egress.allow": "127.0.0.1/32,10.0.0.0/99"])
        }
        #expect(bad.problems.contains { $0.contains("TRIBUTARY_EGRESS_ALLOW") && $0.contains("10.0.0.0/99") })
        let config = try TestApp.config(database: database, extra: ["tributary.egress.allow": "127.0.0.1/32, 10.20.0.0/16"])
        #expect(config.childEnvironment["TRIBUTARY_EGRESS_ALLOW"] == "127.0.0.1/32,10.20.0.0/16")
        let none = try TestApp.config(database: database, extra: ["tributary.egress.allow": ""])
        #expect(none.egress.allowed.isEmpty)
        #expect(none.childEnvironment["TRIBUTARY_EGRESS_ALLOW"] == nil)
    }
}

/// The same attacks against a real `tributary serve --worker` process over real HTTP: it refuses
/// them and keeps answering.
@Suite("Egress and hostile answers against a real server process")
struct EgressServeTests {
    struct Server {
        let base: String

        func send(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws -> (status: Int, body: JSON) {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(TestApp.adminToken)")
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: json))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), (try? Wire.decoder.decode(JSON.self, from: Data(body.readableBytesView))) ?? .null)
        }

        func create(tenant: String, base: String, path: String) async throws -> String {
            let config = #"{"base_url":"\#(base)","auth":{"type":"none"},"streams":[{"name":"items","path":"\#(path)","primary_key":"id"}]}"#
            let reply = try await send(.POST, "/v1/tenants/\(tenant)/integrations", json: #"{"provider":"rest","name":"R","config":\#(config)}"#)
            guard reply.status == 201, case .string(let id)? = reply.body["id"] else { throw TestSetupError("create answered \(reply)") }
            return id
        }

        func checkCode(tenant: String, integration: String) async throws -> String? {
            let reply = try await send(.POST, "/v1/tenants/\(tenant)/integrations/\(integration)/check")
            if case .bool(true)? = reply.body["ok"] { return nil }
            guard case .string(let code)? = reply.body["error"]?["code"] else { throw TestSetupError("check answered \(reply)") }
            return code
        }

        func runCode(tenant: String, integration: String) async throws -> (status: String, code: String?) {
            for _ in 0..<300 {
                let reply = try await send(.GET, "/v1/tenants/\(tenant)/integrations/\(integration)/syncs")
                if case .array(let runs)? = reply.body["data"], let run = runs.first, case .string(let status)? = run["status"],
                    ["succeeded", "failed", "cancelled"].contains(status)
                {
                    if case .string(let code)? = run["error"]?["code"] { return (status, code) }
                    return (status, nil)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestSetupError("the run did not end")
        }
    }

    @Test("127.0.0.2, a path with a space and a 429 asking for 1e19 seconds: refused or failed, and /healthz answers after")
    func realServer() async throws {
        let script = AnswerScript([], fallback: .json(status: 429, headers: [("Retry-After", "1e19")], "{}"))
        try await ScriptedServer.with(script) { port in
            let database = try await TestDatabase.create()
            let (child, serverPort, ready) = try await ChildProcess.startServer(
                database,
                worker: true,
                readyPath: "/readyz",
                logLevel: "warning",
                extra: ["TRIBUTARY_MAX_ATTEMPTS": "1", "TRIBUTARY_POLL_INTERVAL_MS": "50", "TRIBUTARY_API_RATE_LIMIT": "off"],
                attempts: 150
            )
            defer { child.terminate() }
            let server = Server(base: "http://127.0.0.1:\(serverPort)")
            try #require(ready)
            let tenantReply = try await server.send(.POST, "/v1/tenants", json: #"{"name":"Mallory","alert_emails":["m@x.test"]}"#)
            guard case .string(let tenant)? = tenantReply.body["id"] else { throw TestSetupError("no tenant: \(tenantReply)") }

            let inside = try await server.create(tenant: tenant, base: "http://127.0.0.2:\(port)", path: "/items")
            #expect(try await server.checkCode(tenant: tenant, integration: inside) == "egress_denied")
            let internalRun = try await server.runCode(tenant: tenant, integration: inside)
            #expect(internalRun.status == "failed")
            #expect(internalRun.code == "egress_denied")

            let spaced = try await server.create(tenant: tenant, base: "http://127.0.0.1:\(port)", path: "/x?a b")
            #expect(try await server.checkCode(tenant: tenant, integration: spaced) == "rate_limited")
            #expect(await script.requests.last == "GET /x?a%20b HTTP/1.1")
            #expect(try await server.runCode(tenant: tenant, integration: spaced).code == "rate_limited")

            #expect(try await httpStatus("\(server.base)/healthz") == 200)
            #expect(child.isRunning)
            child.terminate()
            let result = await child.finish()
            #expect(result.status == 0, "\(result.output)")
        }
    }
}
