import Foundation
import HTTPTypes
import Testing

@testable import Tributary

/// Stripe's `Idempotency-Key`, as a client that retries on timeouts relies on it.
@Suite("Idempotency-Key on POST")
struct IdempotencyTests {
    private struct Created: Decodable {
        var id: String
        var key: String?
    }

    private struct Problem: Decodable {
        var status: Int
        var type: String
    }

    private struct Count: Decodable {
        var data: [Created]
    }

    static func keyed(_ key: String) -> HTTPFields {
        [HTTPField.Name("Idempotency-Key")!: key]
    }

    @Test("a retried POST answers the first response again and does the work once")
    func replaysTheFirstAnswer() async throws {
        try await TestApp.run { client in
            let body = #"{"name":"Acme","alert_emails":["ops@acme.test"]}"#
            let first = try await client.send(.post, "/v1/tenants", json: body, headers: Self.keyed("create-acme-1"))
            let again = try await client.send(.post, "/v1/tenants", json: body, headers: Self.keyed("create-acme-1"))
            #expect(first.status == .created)
            #expect(again.status == .created)
            #expect(again.body == first.body)
            #expect(again.headers[.location] == first.headers[.location])
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let tenants = try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants").body)
            #expect(tenants.data.count == 1)

            // Without the header, or with another key, the same body is a new request.
            #expect(try await client.send(.post, "/v1/tenants", json: body, headers: Self.keyed("create-acme-2")).status == .created)
            #expect(try await client.send(.post, "/v1/tenants", json: body).status == .created)
            #expect(try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants").body).data.count == 3)
        }
    }

    @Test("the same key with another body, or on another path, answers 422 and does nothing")
    func refusesAnotherRequest() async throws {
        try await TestApp.run { client in
            let first = try await client.send(.post, "/v1/tenants", json: #"{"name":"Acme"}"#, headers: Self.keyed("k-1"))
            #expect(first.status == .created)
            let tenant = try JSONDecoder().decode(Created.self, from: first.body).id
            for (path, body) in [("/v1/tenants", #"{"name":"Globex"}"#), ("/v1/tenants/\(tenant)/api-keys", #"{"name":"Acme"}"#)] {
                let reused = try await client.send(.post, path, json: body, headers: Self.keyed("k-1"))
                #expect(reused.status == .unprocessableContent)
                #expect(reused.headers[.contentType] == "application/problem+json")
                #expect(try JSONDecoder().decode(Problem.self, from: reused.body).type.hasSuffix("/idempotency-key-reused"))
            }
            #expect(try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants").body).data.count == 1)
            let keys = try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants/\(tenant)/api-keys").body)
            #expect(keys.data.isEmpty)
        }
    }

    @Test("keys belong to their tenant: the same key string in two tenants are two requests")
    func scopedPerTenant() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant("Acme")
            let globex = try await client.createTenant("Globex")
            let (_, acmeKey) = try await client.createKey(tenant: acme)
            let (_, globexKey) = try await client.createKey(tenant: globex)
            let body = #"{"name":"backend-2"}"#
            let a = try await client.send(.post, "/v1/tenants/\(acme)/api-keys", as: .token(acmeKey), json: body, headers: Self.keyed("same"))
            let b = try await client.send(
                .post,
                "/v1/tenants/\(globex)/api-keys",
                as: .token(globexKey),
                json: body,
                headers: Self.keyed("same")
            )
            #expect(a.status == .created)
            #expect(b.status == .created)
            #expect(a.body != b.body)
            // Another key of the same tenant shares the tenant's keys: a retry from a second backend replays.
            let (_, secondAcmeKey) = try await client.createKey(tenant: acme, name: "backend-3")
            let replay = try await client.send(
                .post,
                "/v1/tenants/\(acme)/api-keys",
                as: .token(secondAcmeKey),
                json: body,
                headers: Self.keyed("same")
            )
            #expect(replay.body == a.body)
        }
    }

    @Test("a kept answer that carries a secret is sealed at rest, and replays the same secret")
    func sealsKeptAnswers() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let path = "/v1/tenants/\(tenant)/api-keys"
            let first = try await client.send(.post, path, json: #"{"name":"ci"}"#, headers: Self.keyed("new-key"))
            let again = try await client.send(.post, path, json: #"{"name":"ci"}"#, headers: Self.keyed("new-key"))
            let secret = try #require(try JSONDecoder().decode(Created.self, from: first.body).key)
            #expect(try JSONDecoder().decode(Created.self, from: again.body).key == secret)
            let stored = try await client.database.rows("SELECT response_body FROM idempotency_keys", as: Data.self)
            #expect(stored.count == 1)
            #expect(stored.allSatisfy { $0.range(of: Data(secret.utf8)) == nil })
            // The replayed key works, and only one key was made.
            #expect(try await client.send(.get, "/v1/tenants/\(tenant)", as: .token(secret)).status == .ok)
            #expect(try JSONDecoder().decode(Count.self, from: try await client.send(.get, path).body).data.count == 1)
        }
    }

    @Test("a refused request is kept too (the retry gets the same 422); a malformed key answers 400")
    func keepsRefusalsAndChecksTheKey() async throws {
        try await TestApp.run { client in
            let bad = #"{"name":""}"#
            let first = try await client.send(.post, "/v1/tenants", json: bad, headers: Self.keyed("blank"))
            let again = try await client.send(.post, "/v1/tenants", json: bad, headers: Self.keyed("blank"))
            #expect(first.status == .unprocessableContent)
            #expect(again.status == .unprocessableContent)
            #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            for key in [String(repeating: "x", count: 256), "has space", "tab\there", "é"] {
                let reply = try await client.send(.post, "/v1/tenants", json: #"{"name":"Acme"}"#, headers: Self.keyed(key))
                #expect(reply.status == .badRequest)
            }
            #expect(try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants").body).data.isEmpty)
        }
    }

    @Test("ten concurrent retries with one key: one tenant, every answer 201 or 409 while the first runs")
    func concurrentRetries() async throws {
        try await TestApp.run { client in
            let body = #"{"name":"Racy"}"#
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await client.send(.post, "/v1/tenants", json: body, headers: Self.keyed("race")).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .created || $0 == .conflict })
            #expect(statuses.contains(.created))
            #expect(try JSONDecoder().decode(Count.self, from: try await client.send(.get, "/v1/tenants").body).data.count == 1)
        }
    }
}
