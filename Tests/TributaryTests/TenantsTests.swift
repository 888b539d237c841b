import Foundation
import HTTPTypes
import Hummingbird
import Testing

@Suite("Tenants API")
struct TenantsTests {
    @Test("create, read, update and delete a tenant")
    func lifecycle() async throws {
        try await TestApp.run { client in
            let created = try await client.send(
                .post,
                "/v1/tenants",
                body: TenantBody(name: "  Acme  ", alertEmails: ["ops@acme.test", "OPS@acme.test", "cto@acme.test"])
            )
            #expect(created.status == .created)
            let tenant = try created.decode(TenantView.self)
            #expect(tenant.name == "Acme")
            #expect(tenant.alertEmails == ["ops@acme.test", "cto@acme.test"])
            #expect(tenant.status == "active")
            // Ids go out as lower-case UUIDs.
            #expect(UUID(uuidString: tenant.id)?.uuidString.lowercased() == tenant.id)
            #expect(created.headers[.location] == "/v1/tenants/\(tenant.id)")
            #expect(created.headers[.contentType] == "application/json; charset=utf-8")
            #expect(created.raw["created_at"]?.string?.hasSuffix("Z") == true)

            let path = "/v1/tenants/\(tenant.id)"
            let updated = try await client.send(.patch, path, body: TenantBody(alertEmails: []))
            #expect(updated.status == .ok)
            #expect(try updated.decode(TenantView.self).alertEmails == [])
            #expect(try updated.decode(TenantView.self).name == "Acme")
            #expect(try await client.send(.get, path).decode(TenantView.self).alertEmails == [])

            #expect(try await client.send(.delete, path).status == .noContent)
            #expect(try await client.send(.get, path).status == .notFound)
        }
    }

    @Test("every validation failure names its field with 422")
    func validation() async throws {
        try await TestApp.run { client in
            let cases: [(String, [String])] = [
                (#"{}"#, ["name"]),
                (#"{"name":"   "}"#, ["name"]),
                (#"{"name":5}"#, ["name"]),
                (#"{"name":null}"#, ["name"]),
                (#"{"name":"\#(String(repeating: "x", count: 201))"}"#, ["name"]),
                (#"{"name":"Acme","alert_emails":["ok@acme.test","not-an-email","a@b"]}"#, ["alert_emails[1]", "alert_emails[2]"]),
                (#"{"name":"Acme","alert_emails":"ops@acme.test"}"#, ["alert_emails"]),
                (#"{"name":"","alert_emails":["bad"]}"#, ["name", "alert_emails[0]"]),
                (#"{"name":"Ac\u0000me"}"#, ["name"]),
                (#"{"name":"Ac\tme"}"#, ["name"]),
                // 201 code points as sent, though one remains after trimming: the spec's maxLength.
                (#"{"name":"\#(String(repeating: "\\u0085", count: 200))x"}"#, ["name"]),
            ]
            for (body, fields) in cases {
                let reply = try await client.send(.post, "/v1/tenants", json: body)
                #expect(reply.status == .unprocessableContent, "\(body)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.errorFields == fields, "\(body)")
                #expect(try reply.decode(ProblemView.self).type == "https://tributary.dev/problems/validation-failed")
            }
            let tenant = try await client.createTenant()
            let empty = try await client.send(.patch, "/v1/tenants/\(tenant)", json: "{}")
            #expect(empty.status == .unprocessableContent)
            // A null field is as if left out: both null is as empty; one null leaves that one be.
            let nulls = try await client.send(.patch, "/v1/tenants/\(tenant)", json: #"{"name":null,"alert_emails":null}"#)
            #expect(nulls.status == .unprocessableContent)
            let renamed = try await client.send(.patch, "/v1/tenants/\(tenant)", json: #"{"name":"  Renamed\n","alert_emails":null}"#)
            #expect(renamed.status == .ok)
            #expect(try renamed.decode(TenantView.self).name == "Renamed")
            #expect(try renamed.decode(TenantView.self).alertEmails == ["ops@acme.test"])
            #expect(try await client.database.rows("SELECT count(*) FROM tenants", as: Int.self) == [1])
        }
    }

    @Test("malformed JSON is 400, the wrong content type 415, a body over 1 MiB 413")
    func malformedBodies() async throws {
        try await TestApp.run { client in
            #expect(try await client.send(.post, "/v1/tenants", json: #"{"name": "#).status == .badRequest)
            #expect(try await client.send(.post, "/v1/tenants", json: #"["Acme"]"#).status == .badRequest)
            #expect(try await client.send(.post, "/v1/tenants", json: "").status == .badRequest)
            let textPlain = try await client.send(
                .post,
                "/v1/tenants",
                json: #"{"name":"Acme"}"#,
                headers: [.contentType: "text/plain"]
            )
            #expect(textPlain.status == .unsupportedMediaType)
            let noType = try await client.send(.post, "/v1/tenants", rawBody: ByteBuffer(string: #"{"name":"Acme"}"#))
            #expect(noType.status == .unsupportedMediaType)
            let big = #"{"name":"Acme","pad":""# + String(repeating: "x", count: 1 << 20) + #""}"#
            let tooLarge = try await client.send(.post, "/v1/tenants", json: big)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try tooLarge.decode(ProblemView.self).status == 413)
            let charset = try await client.send(
                .post,
                "/v1/tenants",
                json: #"{"name":"Acme"}"#,
                headers: [.contentType: "application/json; charset=utf-8"]
            )
            #expect(charset.status == .created)
        }
    }

    @Test("unknown or non-UUID ids are 404; unknown routes are problem 404s")
    func notFound() async throws {
        try await TestApp.run { client in
            for path in ["/v1/tenants/\(UUID().uuidString)", "/v1/tenants/not-a-uuid", "/v1/tenants/not-a-uuid/api-keys", "/v1/nothing"] {
                let reply = try await client.send(.get, path)
                #expect(reply.status == .notFound, "\(path)")
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            #expect(try await client.send(.patch, "/v1/tenants/\(UUID().uuidString)", body: TenantBody(name: "x")).status == .notFound)
            #expect(try await client.send(.delete, "/v1/tenants/\(UUID().uuidString)").status == .notFound)
        }
    }

    @Test("pages walk every tenant once, newest first, without gaps or repeats")
    func pagination() async throws {
        try await TestApp.run { client in
            var created: [String] = []
            for index in 0..<7 {
                created.append(try await client.createTenant("Tenant \(index)"))
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let reply = try await client.send(.get, "/v1/tenants?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(reply.status == .ok)
                let page = try reply.decode(ListOf<TenantView>.self)
                seen += page.data.map(\.id)
                cursor = page.nextCursor
                #expect(reply.raw["next_cursor"] != nil)
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == created.reversed())

            let defaultPage = try await client.send(.get, "/v1/tenants")
            #expect(try defaultPage.decode(ListOf<TenantView>.self).data.count == 7)
            #expect(defaultPage.raw["next_cursor"] == .null)
        }
    }

    @Test("bad limits and cursors are 400")
    func badQuery() async throws {
        try await TestApp.run { client in
            let forged = Data("t:-300000000000000000:\(UUID().uuidString)".utf8).base64EncodedString()
                .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            for query in ["limit=0", "limit=201", "limit=abc", "limit=-1", "cursor=garbage!", "cursor=czox", "cursor=\(forged)"] {
                let reply = try await client.send(.get, "/v1/tenants?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.headers[.contentType] == "application/problem+json")
            }
            #expect(try await client.send(.get, "/v1/tenants?limit=200").status == .ok)
        }
    }
}
