import Configuration
import Foundation
import HTTPTypes
import Testing

@testable import Tributary

/// What one caller can take of the API process: its request rate, and its records pages.
@Suite("API limits: request rate per key, records pages by bytes")
struct APILimitsTests {
    private struct Problem: Decodable {
        var status: Int
        var type: String
    }

    private struct Page: Decodable {
        struct Record: Decodable {
            var id: String
        }
        var data: [Record]
        var nextCursor: String
        var hasMore: Bool
    }

    private struct Runs: Decodable {
        struct Run: Decodable {
            var status: String
        }
        var data: [Run]
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    @Test("past its burst a key gets 429 with Retry-After; other keys and the admin are not slowed; it recovers")
    func rateLimitPerKey() async throws {
        try await TestApp.run(extra: ["tributary.api.rate.limit": "2:4"]) { client in
            let acme = try await client.createTenant("Acme")
            let (_, first) = try await client.createKey(tenant: acme, name: "first")
            let (_, second) = try await client.createKey(tenant: acme, name: "second")
            var statuses: [HTTPResponse.Status] = []
            var limited: Reply?
            for _ in 0..<8 {
                let reply = try await client.send(.get, "/v1/tenants/\(acme)", as: .token(first))
                statuses.append(reply.status)
                if reply.status == .tooManyRequests { limited = reply }
            }
            #expect(statuses.prefix(4).allSatisfy { $0 == .ok })
            #expect(statuses.suffix(3).allSatisfy { $0 == .tooManyRequests })
            let refused = try #require(limited)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(refused.headers[.contentType] == "application/problem+json")
            #expect(try Self.decoder.decode(Problem.self, from: refused.body).type.hasSuffix("/rate-limited"))
            #expect(try await client.send(.get, "/v1/tenants/\(acme)", as: .token(second)).status == .ok)
            #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await client.send(.get, "/v1/tenants/\(acme)", as: .token(first)).status == .ok)
        }
    }

    @Test("TRIBUTARY_API_RATE_LIMIT off lifts the limit; a malformed value stops the process naming it")
    func rateLimitSetting() async throws {
        let statuses = try await TestApp.run(extra: ["tributary.api.rate.limit": "off"]) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<120 { statuses.append(try await client.send(.get, "/v1/providers").status) }
            return statuses
        }
        #expect(statuses.allSatisfy { $0 == .ok })
        let database = try #require(ProcessInfo.processInfo.environment["TRIBUTARY_TEST_DATABASE_URL"])
        let run = try await ChildProcess.run(
            ["serve"],
            environment: [
                "DATABASE_URL": database, "TRIBUTARY_ADMIN_TOKEN": TestApp.adminToken, "TRIBUTARY_ENCRYPTION_KEYS": TestApp.key1,
                "TRIBUTARY_API_RATE_LIMIT": "fast",
            ])
        #expect(run.status == 2)
        #expect(run.output.contains("TRIBUTARY_API_RATE_LIMIT must be"))
    }

    @Test("a records page stops at the byte budget (always holding one record); reading on yields each record once")
    func recordsPagesByBytes() async throws {
        try await TestApp.run(extra: ["tributary.records.page.bytes": "1500"], worker: true) { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(
                .post, "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"demo","name":"Demo","streams":["contacts"],"config":{"records_per_run":40}}"#)
            #expect(created.status == .created)
            let id = try #require(try JSONSerialization.jsonObject(with: created.body) as? [String: Any])["id"] as? String ?? ""
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let runs = try Self.decoder.decode(Runs.self, from: try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").body)
                if runs.data.first?.status == "succeeded" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            while pages < 100 {
                let path = "/v1/tenants/\(tenant)/integrations/\(id)/records?limit=200" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await client.send(.get, path)
                let page = try Self.decoder.decode(Page.self, from: reply.body)
                pages += 1
                #expect(!page.data.isEmpty || !page.hasMore)
                // Each demo contact is several hundred bytes: a 1,500-byte budget holds one to three.
                #expect(page.data.count <= 3)
                seen += page.data.map(\.id)
                cursor = page.nextCursor
                if !page.hasMore { break }
            }
            #expect(seen.count == 40)
            #expect(Set(seen).count == 40)
            #expect(pages > 13)
        }
    }
}
