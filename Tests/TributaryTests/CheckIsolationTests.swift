import Configuration
import Fakes
import Foundation
import Testing

@testable import Tributary

/// `POST …/check` runs in its own `tributary check` process: a provider that hangs, a child that
/// dies or prints nonsense, a tenant that starts checks in a burst — the API answers and keeps serving.
@Suite("Checks in a child process: time limit, crashes, one attempt, 1 MiB")
struct CheckIsolationTests {
    /// A `rest` integration reading `path` on 127.0.0.1:`port` with an API key in a header.
    static func restIntegration(
        _ client: TestClient,
        tenant: String,
        port: Int,
        path: String,
        key: String = "key-for-checks"
    ) async throws
        -> String
    {
        try await client.createIntegration(
            tenant: tenant,
            IntegrationBody(
                provider: "rest",
                name: "Hostile",
                status: "paused",
                config: [
                    "base_url": .string("http://127.0.0.1:\(port)"),
                    "auth": ["type": "api_key_header", "header": "X-Api-Key"],
                    "streams": [["name": "items", "path": .string(path), "primary_key": "id"]],
                ],
                credential: .apiKey(key)
            )
        )
    }

    static func check(_ client: TestClient, tenant: String, integration: String) async throws -> (Reply, Duration) {
        let start = ContinuousClock.now
        let reply = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(integration)/check")
        return (reply, ContinuousClock.now - start)
    }

    static func healthy(_ client: TestClient) async throws -> Bool {
        try await client.send(.get, "/healthz", as: .none).status == .ok
    }

    @Test("a provider that never answers: check_timeout at the wall-clock limit, and the API keeps serving")
    func hangingProvider() async throws {
        try await withHangingPort { port in
            try await TestApp.run(extra: ["tributary.check.timeout.seconds": "2"]) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, path: "/items")
                let (reply, took) = try await Self.check(client, tenant: tenant, integration: id)
                #expect(reply.status == .ok)
                let answer = try reply.decode(CheckView.self)
                #expect(answer.ok == false)
                #expect(answer.error?.code == "check_timeout")
                // Well within the HTTP layer's own limits (60 s): the 2 s wall clock stopped it, however loaded the machine.
                #expect(took < .seconds(20), "\(took)")
                #expect(try await Self.healthy(client))
                // The child is gone, not left hanging.
                #expect(checkProcesses(integration: id).isEmpty)
            }
        }
    }

    @Test("a check process killed mid-check answers check_crashed, saying how it ended")
    func killedChild() async throws {
        try await withHangingPort { port in
            try await TestApp.run(extra: ["tributary.check.timeout.seconds": "30"]) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, path: "/items")
                async let answered = Self.check(client, tenant: tenant, integration: id)
                var pids: [Int32] = []
                for _ in 0..<200 where pids.isEmpty {
                    try await Task.sleep(for: .milliseconds(50))
                    pids = checkProcesses(integration: id)
                }
                let pid = try #require(pids.first)
                kill(pid, SIGKILL)
                let (reply, took) = try await answered
                let answer = try reply.decode(CheckView.self)
                #expect(reply.status == .ok)
                #expect(answer.ok == false)
                #expect(answer.error?.code == "check_crashed")
                #expect(answer.error?.message == "the check process was killed by signal 9 (out of memory, or killed)")
                #expect(took < .seconds(20))
                #expect(try await Self.healthy(client))
            }
        }
    }

    @Test("a check process that prints nonsense or crashes answers check_crashed, never its output")
    func nonsense() async throws {
        let cases: [(stdout: String, status: Int32)] = [
            ("TRIBUTARY_CHECK {not json at all", 0),
            (#"TRIBUTARY_CHECK {"ok":false}"#, 0),
            (#"TRIBUTARY_CHECK {"ok":true}"#, 1),
            ("Fatal error: something trapped SECRET-LOOKING-OUTPUT", 132),
        ]
        for (stdout, status) in cases {
            try await withFakeBinary(stdout: stdout, stderr: "stack trace SECRET-LOOKING-OUTPUT", status: status) { binary in
                let logs = LogCapture()
                try await TestApp.run(logs: logs, extra: ["tributary.run.task.binary": .init(.string(binary), isSecret: false)]) { client in
                    let tenant = try await client.createTenant()
                    let demo = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D", status: "paused"))
                    let (reply, _) = try await Self.check(client, tenant: tenant, integration: demo)
                    #expect(reply.status == .ok)
                    let answer = try reply.decode(CheckView.self)
                    #expect(answer.ok == false)
                    #expect(answer.error?.code == "check_crashed", "\(stdout)")
                    #expect(answer.error?.message == "the check process exited with status \(status)")
                    #expect(!String(decoding: reply.body, as: UTF8.self).contains("SECRET-LOOKING-OUTPUT"))
                    // What it printed is the operator's to read, in the API's own log.
                    #expect(logs.text.contains("SECRET-LOOKING-OUTPUT"))
                    #expect(try await Self.healthy(client))
                }
            }
        }
    }

    @Test("a check makes one attempt: a provider answering 503 is asked once, not five times")
    func oneAttempt() async throws {
        let provider = HostileProvider(key: "key-for-checks")
        try await withFakeServer(provider.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, path: "/unavailable")
                let answer = try await Self.check(client, tenant: tenant, integration: id).0.decode(CheckView.self)
                #expect(answer.ok == false)
                #expect(answer.error?.code == "provider_error")
                #expect(provider.hits("/unavailable") == 1)
            }
        }
    }

    @Test("a check reads at most 1 MiB of an answer")
    func responseCap() async throws {
        let provider = HostileProvider(key: "key-for-checks")
        try await withFakeServer(provider.router) { port in
            try await TestApp.run { client in
                let tenant = try await client.createTenant()
                let id = try await Self.restIntegration(client, tenant: tenant, port: port, path: "/huge")
                let answer = try await Self.check(client, tenant: tenant, integration: id).0.decode(CheckView.self)
                #expect(answer.ok == false)
                #expect(answer.error?.code == "response_too_large")
                #expect(answer.error?.message.contains("1 MiB") == true)
            }
        }
    }

    @Test("one tenant cannot hold more than two check processes at once: the third answers 503")
    func perTenantSlots() async throws {
        try await withHangingPort { port in
            // The checks' own limit: long enough that the first two are surely still running when
            // the third comes (the wait for them below gives up at 20 s), and shorter than the 30 s
            // a provider may stay silent (`PinnedClients`), so that it is the limit that ends them.
            let settings: [AbsoluteConfigKey: ConfigValue] = ["tributary.check.timeout.seconds": "25"]
            try await TestApp.run(extra: settings) { client in
                let tenant = try await client.createTenant()
                let other = try await client.createTenant("Other")
                let ids = [
                    try await Self.restIntegration(client, tenant: tenant, port: port, path: "/items"),
                    try await Self.restIntegration(client, tenant: tenant, port: port, path: "/items"),
                    try await Self.restIntegration(client, tenant: tenant, port: port, path: "/items"),
                ]
                let others = try await Self.restIntegration(client, tenant: other, port: port, path: "/items")
                async let first = Self.check(client, tenant: tenant, integration: ids[0])
                async let second = Self.check(client, tenant: tenant, integration: ids[1])
                let started = ContinuousClock.now
                while checkProcesses(integration: ids[0]).isEmpty || checkProcesses(integration: ids[1]).isEmpty,
                    ContinuousClock.now - started < .seconds(20)
                {
                    try await Task.sleep(for: .milliseconds(50))
                }
                guard !checkProcesses(integration: ids[0]).isEmpty && !checkProcesses(integration: ids[1]).isEmpty else {
                    let answers = try await [first.0, second.0].map { "\($0.status): \(String(decoding: $0.body, as: UTF8.self))" }
                    Issue.record("the first two checks were not running at once; they answered \(answers)")
                    return
                }
                let third = try await Self.check(client, tenant: tenant, integration: ids[2]).0
                #expect(third.status == .serviceUnavailable)
                #expect(third.headers[.retryAfter] != nil)
                // Another tenant still gets its check.
                async let fourth = Self.check(client, tenant: other, integration: others)
                for answer in try await [first.0, second.0, fourth.0] {
                    #expect(
                        try answer.decode(CheckView.self).error?.code == "check_timeout",
                        "\(answer.status): \(String(decoding: answer.body, as: UTF8.self))"
                    )
                }
            }
        }
    }
}
