import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import Tributary

/// Bodies crafted to trap the JSON decoder. A trap would end this very test process, so the
/// test passing is the proof.
@Suite("Hostile request bodies")
struct HostileBodyTests {
    @Test("513 unclosed brackets (the depth at which Foundation's decoder traps) answer 400, and the server serves on")
    func deepNesting() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let bodies = [
                String(repeating: "[", count: 513), String(repeating: "{\"a\":", count: 513), String(repeating: "[", count: 512),
                String(repeating: "[", count: 100_000), #"{"name":"# + String(repeating: "[", count: 513),
            ]
            for body in bodies {
                for path in ["/v1/tenants", "/v1/tenants/\(tenant)/integrations", "/v1/tenants/\(tenant)/api-keys"] {
                    let reply = try await client.send(.post, path, json: body)
                    #expect([.badRequest, .unprocessableContent].contains(reply.status))
                }
            }
            #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
        }
    }
}
