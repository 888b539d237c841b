import Foundation
import HTTPTypes
import Testing

@testable import Tributary

@Suite("Health, metrics, request ids and the provider catalog")
struct HealthTests {
    @Test("healthz and readyz answer without auth once migrations are applied")
    func health() async throws {
        try await TestApp.run { client in
            let health = try await client.send(.get, "/healthz", as: .none)
            #expect(health.status == .ok)
            #expect(try health.decode(HealthView.self).status == "ok")
            let ready = try await client.send(.get, "/readyz", as: .none)
            #expect(ready.status == .ok)
            #expect(try ready.decode(HealthView.self).status == "ready")
        }
    }

    @Test("readyz is 503 while a migration is pending")
    func notReadyWhenBehind() async throws {
        try await TestApp.run { client in
            try await TestDatabase.withConnection(to: client.database.url) { connection in
                try await connection.query("DELETE FROM schema_migrations WHERE version = 1", logger: TestApp.testLogger)
            }
            let reply = try await client.send(.get, "/readyz", as: .none)
            #expect(reply.status == .serviceUnavailable)
            #expect(try reply.decode(ProblemView.self).detail.contains("1"))
        }
    }

    @Test("metrics count requests by route and status, with latencies")
    func metrics() async throws {
        try await TestApp.run { client in
            _ = try await client.send(.get, "/v1/providers")
            _ = try await client.send(.get, "/v1/providers", as: .none)
            let reply = try await client.send(.get, "/metrics", as: .none)
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(text.contains(#"tributary_http_requests_total{method="GET",route="/v1/providers",status="200"} 1"#))
            #expect(text.contains(#"tributary_http_requests_total{method="GET",route="/v1/providers",status="401"} 1"#))
            #expect(text.contains("tributary_http_request_duration_seconds_bucket"))
        }
    }

    @Test("every answer carries a request id: the client's if sane, else a new one")
    func requestIDs() async throws {
        try await TestApp.run { client in
            let echoed = try await client.send(.get, "/healthz", as: .none, headers: [.requestID: "abc-123.X_y"])
            #expect(echoed.headers[.requestID] == "abc-123.X_y")
            let replaced = try await client.send(.get, "/healthz", as: .none, headers: [.requestID: "bad id\u{7f}"])
            #expect(replaced.headers[.requestID].map { $0 != "bad id\u{7f}" && $0.count == 32 } == true)
            let problem = try await client.send(.get, "/v1/tenants/x", headers: [.requestID: "trace-1"])
            #expect(problem.headers[.requestID] == "trace-1")
            #expect(try problem.decode(ProblemView.self).requestID == "trace-1")
        }
    }

    @Test("the catalog lists the demo provider with its streams and config schema")
    func providers() async throws {
        try await TestApp.run { client in
            let reply = try await client.send(.get, "/v1/providers")
            #expect(reply.status == .ok)
            let providers = try reply.decode(ListOf<ProviderView>.self).data
            let demo = try #require(providers.first { $0.id == "demo" })
            #expect(demo.authTypes == ["none"])
            #expect(demo.streams.map(\.name) == ["contacts", "events", "lists"])
            #expect(demo.streams.first?.primaryKey == ["id"])
            #expect(demo.streams.first?.syncMode == "incremental")
            #expect(demo.configSchema["type"] == "object")
        }
    }
}
