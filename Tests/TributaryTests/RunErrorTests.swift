import Configuration
import Fakes
import Foundation
import Testing

@testable import Tributary

/// What a tenant reads of a failure: never its own credential as a provider echoed it, never what a
/// run-task printed, never more than 300 characters.
@Suite("Run and check errors: redacted, bounded, structured")
struct RunErrorTests {
    static let key = "sk_live_Echoed+Key/0123456789abcdef"
    /// What the HTTP layer leaves unencoded in a query (RFC 3986's unreserved characters).
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// Every form of `key` a provider could echo, none of which may reach an answer.
    static func leaks(_ text: String) -> [String] {
        let forms = [
            key,
            Data(key.utf8).base64EncodedString(),
            Data(key.utf8).base64EncodedString().trimmingCharacters(in: ["="]),
            Data("user:\(key)".utf8).base64EncodedString(),
            "0123456789abcdef",  // the tail of the key: a cut-off copy is still a copy
        ]
        return forms.filter { text.contains($0) }
    }

    @Test("a provider that echoes the API key (as it is, in base64, in a Basic header): the run's and the check's errors do not")
    func echoedKey() async throws {
        let provider = HostileProvider(key: Self.key)
        try await withFakeServer(provider.router) { port in
            try await TestApp.run(extra: ["tributary.max.attempts": "1"], worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.createIntegration(
                    tenant: tenant,
                    IntegrationBody(
                        provider: "rest",
                        name: "Echo",
                        config: [
                            "base_url": .string("http://127.0.0.1:\(port)"),
                            "auth": ["type": "api_key_header", "header": "X-Api-Key"],
                            "streams": [["name": "items", "path": "/echo", "primary_key": "id"]],
                        ],
                        credential: .apiKey(Self.key)
                    )
                )
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(provider.hits("/echo") >= 1)
                let error = try #require(run.error)
                #expect(error.code == "provider_rejected")
                #expect(error.message.hasPrefix("/echo answered 400: key [redacted] is not valid ([redacted])"), "\(error.message)")
                #expect(Self.leaks(error.message).isEmpty, "\(error.message)")
                #expect(error.message.count <= 300)

                let failed = try await client.send(.get, "/v1/tenants/\(tenant)/activity?action=sync.failed")
                #expect(Self.leaks(String(decoding: failed.body, as: UTF8.self)).isEmpty)
                let runs = try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs")
                #expect(Self.leaks(String(decoding: runs.body, as: UTF8.self)).isEmpty)

                let check = try await client.send(.post, "/v1/tenants/\(tenant)/integrations/\(id)/check")
                let answer = try check.decode(CheckView.self)
                #expect(answer.ok == false)
                #expect(answer.error?.code == "provider_rejected")
                #expect(Self.leaks(String(decoding: check.body, as: UTF8.self)).isEmpty, "\(answer)")
                #expect((answer.error?.message.count ?? 0) <= 300)
            }
        }
    }

    @Test("a run-task that crashes printing junk (and a forged report among its logs): run_task_crashed, the junk only in the worker's log")
    func crashWithJunk() async throws {
        let stderr = """
            some log line
            TRIBUTARY_ERROR {"code":"forged","message":"JUNK from a log line","retryable":false}
            JUNK-STDERR-TAIL
            """
        try await withFakeBinary(stdout: "JUNK-STDOUT", stderr: stderr, status: 7) { binary in
            let logs = LogCapture()
            let extra: [AbsoluteConfigKey: ConfigValue] = [
                "tributary.run.task.binary": .init(.string(binary), isSecret: false),
                "tributary.max.attempts": "1",
            ]
            try await TestApp.run(logs: logs, extra: extra, worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D"))
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "failed")
                #expect(run.error?.code == "run_task_crashed")
                #expect(run.error?.message == "the run-task exited with status 7")
                let answers = [
                    try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs"),
                    try await client.send(.get, "/v1/tenants/\(tenant)/activity"),
                ]
                for answer in answers {
                    #expect(!String(decoding: answer.body, as: UTF8.self).contains("JUNK"))
                }
                // The operator still sees what it printed: in the worker's log, at warning, with the run id.
                let line = logs.text.split(separator: "\n").first { $0.contains("run-task crashed without a report") }
                let warning = try #require(line)
                #expect(warning.hasPrefix("warning"))
                #expect(warning.contains("run_id=\(run.id)"))
                #expect(warning.contains("JUNK-STDERR-TAIL"))
                #expect(warning.contains("JUNK-STDOUT"))
            }
        }
    }

    @Test("the redactor finds a secret as it is, percent-encoded, and in base64 at any alignment inside longer base64")
    func redactorForms() {
        let secret = "s3cr3t/Key+with=odd~chars"
        let redactor = SecretRedactor(secrets: [secret, "short"])
        var texts = [
            "plain \(secret) end",
            "query ?key=\(secret.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? "")",
            "query ?key=\(SecretRedactor.lowercasingEscapes(secret.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""))",
            "b64 \(Data(secret.utf8).base64EncodedString())",
            "b64url \(Data(secret.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))",
        ]
        for prefix in ["", "u", "us", "user:"] {
            texts.append("Basic \(Data("\(prefix)\(secret)".utf8).base64EncodedString())")
            texts.append("Basic \(Data("\(prefix)\(secret) and more after it".utf8).base64EncodedString())")
        }
        for text in texts {
            let redacted = redactor.redact(text)
            #expect(redacted.contains(SecretRedactor.mask), "\(text)")
            #expect(!redacted.contains(secret))
            for offset in 0..<3 {
                // No run of 8 characters of any base64 form of the secret survives.
                let encoded = Data(Array(repeating: 0, count: offset) + Array(secret.utf8)).base64EncodedString()
                let core = encoded.dropFirst(4).prefix(8)
                #expect(!redacted.contains(core), "\(text) → \(redacted)")
            }
        }
        // Secrets too short to look for leave ordinary words alone.
        #expect(redactor.redact("a short answer") == "a short answer")
    }

    @Test("every error is bounded: 300 characters, no control or invisible characters, a plain code")
    func bounded() {
        let long = RunError.bounded(code: "provider_rejected", message: String(repeating: "é", count: 1000))
        #expect(long.message.count == 300)
        #expect(long.message.hasSuffix("…"))
        let zalgo = RunError.bounded(code: "x", message: "a" + String(repeating: "\u{0301}", count: 5000))
        #expect(zalgo.message.unicodeScalars.count <= 300)
        let control = RunError.bounded(code: "Bad Code\n{}", message: "line\nbreak\u{1B}[31m\u{202E}reversed")
        #expect(control.message == "line break [31mreversed")
        #expect(control.code == "adode")
        #expect(RunError.bounded(code: "\n", message: "").code == "unknown_error")
    }
}
