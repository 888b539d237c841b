import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import Tributary

@Suite("Methods a path does not answer")
struct RoutingTests {
    @Test("a method a known path does not answer is 405 with Allow, as a problem; an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let (_, key) = try await client.createKey(tenant: tenant)
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/v1/providers", "GET, HEAD"),
                (.put, "/v1/tenants/\(tenant)", "DELETE, GET, HEAD, PATCH"),
                (.post, "/v1/tenants/\(tenant)/api-keys/\(UUID().uuidString.lowercased())", "DELETE"),
                (.get, "/v1/tenants/\(tenant)/integrations/\(UUID().uuidString.lowercased())/check", "POST"),
                (HTTPRequest.Method("TRACE")!, "/healthz", "GET, HEAD"),
            ]
            for (method, path, allow) in cases {
                for auth in [TestClient.Auth.admin, .token(key), .none] {
                    let reply = try await client.send(method, path, as: auth)
                    #expect(reply.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(reply.headers[.allow] == allow, "\(method) \(path)")
                    #expect(reply.headers[.contentType] == "application/problem+json")
                    #expect(try reply.decode(ProblemView.self).type == "https://tributary.dev/problems/method-not-allowed")
                }
            }
            for path in ["/v1/nothing", "/v1/tenants/\(tenant)/integrations/x/y/z", "/"] {
                let reply = try await client.send(.get, path)
                #expect(reply.status == .notFound, "\(path)")
                #expect(reply.headers[.allow] == nil)
            }
            // HEAD answers as GET does, without a body.
            let head = try await client.send(.head, "/v1/tenants/\(tenant)", as: .token(key))
            #expect(head.status == .ok)
            #expect(head.body.isEmpty)
            // A handler's own 404 (no such tenant) is not turned into a 405.
            #expect(try await client.send(.get, "/v1/tenants/\(UUID().uuidString.lowercased())").status == .notFound)
        }
    }

    @Test("where a literal segment and a capture both match, Allow is the literal route's, as the router resolves it")
    func literalBeatsCapture() throws {
        let router = Router()
        router.get("/things/:id") { _, _ in "" }
        router.delete("/things/:id") { _, _ in "" }
        router.post("/things/special") { _, _ in "" }
        router.put("/things/special/:id") { _, _ in "" }
        router.patch("/things/:id/:part") { _, _ in "" }
        let allowed = AllowedMethods(router.routes, headWithGet: true)
        #expect(allowed.methods(forPath: "/things/special") == ["POST"])
        #expect(allowed.methods(forPath: "/things/other") == ["DELETE", "GET", "HEAD"])
        #expect(allowed.methods(forPath: "/things/special/1") == ["PUT"])
        #expect(allowed.methods(forPath: "/things/other/1") == ["PATCH"])
        #expect(allowed.methods(forPath: "/things/") == nil)
        #expect(allowed.methods(forPath: "/elsewhere") == nil)
        #expect(AllowedMethods(router.routes, headWithGet: false).methods(forPath: "/things/other") == ["DELETE", "GET"])
    }
}
