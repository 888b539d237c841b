import Configuration
import Fakes
import Foundation
import Testing

@testable import Tributary

@Suite("Chaos: providers slower than every timeout, cut off mid-body, or endless")
struct ProviderChaosTests {
    /// How each hostile provider answers every request, the error its run must end with, and after
    /// how many attempts, and what its message says happened.
    static let providers: [(name: String, answer: RawAnswer, code: String, attempts: Int, says: String)] = {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        // Promises 100,000 bytes, sends a thousand, and closes the connection.
        let cut = RawAnswer(Array((head + "Content-Length: 100000\r\n\r\n[" + String(repeating: "{\"id\":1},", count: 111)).utf8))
        // A chunked body that never ends: 64 KiB chunks, far past any size limit, then held open.
        let chunk = Array(("10000\r\n" + String(repeating: " ", count: 0x10000) + "\r\n").utf8)
        let endless = RawAnswer(
            pieces: [Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)] + Array(repeating: chunk, count: 4096),
            holdOpen: true
        )
        return [
            ("silent", RawAnswer([], holdOpen: true), "provider_timeout", 2, "/items did not answer within 2 s"),
            ("cut-off", cut, "provider_unreachable", 2, "/items closed the connection before its whole answer came"),
            // No retry makes an answer smaller.
            ("endless", endless, "response_too_large", 1, "/items answered more than"),
        ]
    }()

    @Test(
        "each hostile provider's run ends failed (retried where a retry may help) with an error that says what happened; another tenant's sync runs meanwhile"
    )
    func hostileProviders() async throws {
        let scripts = Self.providers.map { AnswerScript(fallback: $0.answer) }
        // A request gets 2 s (5 tries each); a run 2 attempts.
        let settings: [AbsoluteConfigKey: ConfigValue] = ["tributary.provider.timeout.seconds": "2", "tributary.max.attempts": "2"]
        try await ScriptedServer.with(scripts[0]) { silent in
            try await ScriptedServer.with(scripts[1]) { cut in
                try await ScriptedServer.with(scripts[2]) { endless in
                    try await TestApp.run(extra: settings, worker: true) { client in
                        var hostile: [(tenant: String, id: String)] = []
                        for port in [silent, cut, endless] {
                            let tenant = try await client.createTenant()
                            let id = try await client.createIntegration(
                                tenant: tenant,
                                IntegrationBody(
                                    provider: "rest",
                                    name: "Hostile",
                                    config: [
                                        "base_url": .string("http://127.0.0.1:\(port)"),
                                        "auth": ["type": "api_key_header", "header": "X-Api-Key"],
                                        "streams": [["name": "items", "path": "/items", "primary_key": "id"]],
                                    ],
                                    credential: .apiKey("sk_test_chaos")
                                )
                            )
                            hostile.append((tenant, id))
                        }
                        // Another tenant's sync, queued after them, is not held up by them.
                        let (tenant, demo) = try await SyncTests.demoTenant(client, config: ["records_per_run": 100], streams: ["contacts"])
                        let quick = try await client.waitForRun(tenant: tenant, integration: demo, timeout: .seconds(60))
                        #expect(quick.status == "succeeded")
                        let silentRun = try await client.send(.get, "/v1/tenants/\(hostile[0].tenant)/integrations/\(hostile[0].id)/syncs")
                            .decode(ListOf<RunView>.self).data.first
                        #expect(silentRun?.hasEnded == false, "the silent provider's run still waits while the other sync is done")

                        for ((name, _, code, attempts, says), (tenant, id)) in zip(Self.providers, hostile) {
                            let run = try await client.waitForRun(tenant: tenant, integration: id, timeout: .seconds(150))
                            #expect(run.status == "failed", "\(name)")
                            #expect(run.attempt == attempts, "\(name)")
                            #expect(run.error?.code == code, "\(name): \(run.error?.code ?? "-") \(run.error?.message ?? "")")
                            #expect(run.error?.message.contains(says) == true, "\(name): \(run.error?.message ?? "")")
                            #expect(run.recordsTotal == 0, "\(name)")
                        }
                        for script in scripts { #expect(await script.requests.count >= 1) }
                    }
                }
            }
        }
    }
}
