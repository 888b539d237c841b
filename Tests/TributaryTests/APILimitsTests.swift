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

    @Test("the bucket: a burst at once, then the steady rate; an empty bucket tells how long to wait")
    func bucketArithmetic() {
        let limiter = RequestRateLimiter(limit: .init(perSecond: 4, burst: 3))
        let start = ContinuousClock.now
        let key = Caller.tenantKey(keyID: UUID(), tenantID: UUID())
        #expect((0..<3).allSatisfy { _ in limiter.take(for: key, now: start) == nil })
        let wait = limiter.take(for: key, now: start)
        #expect(wait.map { abs($0 - 0.25) < 0.001 } == true)
        #expect(limiter.take(for: .admin, now: start) == nil)
        #expect(limiter.take(for: key, now: start + .milliseconds(260)) == nil)
        #expect(limiter.take(for: key, now: start + .milliseconds(270)) != nil)
        // Idle for long, the bucket is full again but never fuller than the burst.
        let later = start + .seconds(60)
        #expect((0..<3).allSatisfy { _ in limiter.take(for: key, now: later) == nil })
        #expect(limiter.take(for: key, now: later) != nil)
    }

    @Test("past its burst a key gets 429 with Retry-After; another key is not slowed; it recovers")
    func rateLimitPerKey() async throws {
        try await TestApp.run(extra: ["tributary.api.rate.limit": "1:3"]) { client in
            let acme = try await client.createTenant("Acme")
            let (_, first) = try await client.createKey(tenant: acme, name: "first")
            let (_, second) = try await client.createKey(tenant: acme, name: "second")
            let start = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await client.send(.get, "/v1/tenants/\(acme)", as: .token(first)) } }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            let elapsed = (ContinuousClock.now - start).components.seconds
            let passed = replies.filter { $0.status == .ok }.count
            // Three at once, then one a second: however slow this machine, no more than that.
            #expect(passed >= 3 && passed <= 3 + Int(elapsed) + 1)
            let refused = try #require(replies.first { $0.status == .tooManyRequests })
            #expect(replies.allSatisfy { $0.status == .ok || $0.status == .tooManyRequests })
            #expect(refused.headers[.retryAfter] == "1")
            #expect(refused.headers[.contentType] == "application/problem+json")
            #expect(try Self.decoder.decode(Problem.self, from: refused.body).type.hasSuffix("/rate-limited"))
            #expect(try await client.send(.get, "/v1/tenants/\(acme)", as: .token(second)).status == .ok)
            #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
            try await Task.sleep(for: .milliseconds(1100))
            #expect(try await client.send(.get, "/v1/tenants/\(acme)", as: .token(first)).status == .ok)
        }
    }

    @Test("a tenant key that mints fresh keys to escape its bucket gets no more than its tenant's share")
    func mintingKeysBuysNoRate() async throws {
        try await TestApp.run(extra: ["tributary.api.rate.limit": "1:4"]) { client in
            // The admin's four requests: its whole burst.
            let acme = try await client.createTenant("Acme")
            let other = try await client.createTenant("Other")
            let (_, first) = try await client.createKey(tenant: acme, name: "leaked")
            let (_, bystander) = try await client.createKey(tenant: other, name: "bystander")
            // The attack: each key spends its burst minting new keys, each of which comes with a full bucket.
            var keys = [first]
            var accepted = 0
            var index = 0
            let start = ContinuousClock.now
            while index < keys.count && accepted < 100 {
                let reply = try await client.send(.post, "/v1/tenants/\(acme)/api-keys", as: .token(keys[index]), body: KeyBody(name: "minted"))
                if reply.status == .created, let key = try reply.decode(APIKeyView.self).key {
                    accepted += 1
                    keys.append(key)
                } else {
                    #expect(reply.status == .tooManyRequests)
                    index += 1
                }
            }
            let elapsed = Int((ContinuousClock.now - start).components.seconds)
            // The tenant's keys together: a burst of 5 × 4, then 5 a second (one more second for a slow machine).
            let share = RequestRateLimiter.tenantShare
            #expect(accepted <= 4 * share + share * (elapsed + 1), "\(accepted) requests passed in \(elapsed) s")
            // Another tenant is not slowed by it.
            #expect(try await client.send(.get, "/v1/tenants/\(other)", as: .token(bystander)).status == .ok)
            #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
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
            ]
        )
        #expect(run.status == 2)
        #expect(run.output.contains("TRIBUTARY_API_RATE_LIMIT must be"))
    }

    @Test("a records page stops at the byte budget (always holding one record); reading on yields each record once")
    func recordsPagesByBytes() async throws {
        try await TestApp.run(extra: ["tributary.records.page.bytes": "1500"], worker: true) { client in
            let tenant = try await client.createTenant()
            let created = try await client.send(
                .post,
                "/v1/tenants/\(tenant)/integrations",
                json: #"{"provider":"demo","name":"Demo","streams":["contacts"],"config":{"records_per_run":40}}"#
            )
            #expect(created.status == .created)
            let id = try #require(try JSONSerialization.jsonObject(with: created.body) as? [String: Any])["id"] as? String ?? ""
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                let runs = try Self.decoder.decode(
                    Runs.self,
                    from: try await client.send(.get, "/v1/tenants/\(tenant)/integrations/\(id)/syncs").body
                )
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
