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

    @Test(
        "a body nested past 32 levels is refused before Foundation's decoder (its cost grows with the square of the depth); an answer lists at most 100 faults; a number that does not fit is 422"
    )
    func nestingAndAnswerSize() async throws {
        try await TestApp.run { client in
            let tenant = try await client.createTenant()
            let id = try await client.createIntegration(tenant: tenant, IntegrationBody(provider: "demo", name: "D", streams: ["contacts"]))
            let path = "/v1/tenants/\(tenant)/integrations/\(id)"
            // 100 levels: JSON the parser reads (it refuses past 256, as "not valid JSON"), too deep for the API.
            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            for (method, target, json) in [
                (HTTPRequest.Method.put, "\(path)/state/contacts", #"{"cursor": {"run": 1, "x": \#(deep)}}"#),
                (.patch, path, #"{"stream_settings": {"contacts": {"sync_frequency_minutes": 60, "x": \#(deep)}}}"#),
                (.patch, path, #"{"config": {"x": \#(deep)}}"#),
            ] {
                let reply = try await client.send(method, target, json: json)
                #expect(reply.status == .badRequest, "\(target)")
                #expect(reply.raw["detail"]?.string?.contains("nested deeper than 32") == true, "\(String(decoding: reply.body, as: UTF8.self))")
            }
            // 32 levels are fine (and answered for what they are).
            let fine = String(repeating: "[", count: 29) + String(repeating: "]", count: 29)
            #expect(
                try await client.send(.put, "\(path)/state/contacts", json: #"{"cursor": {"run": 1, "x": \#(fine)}}"#).status == .unprocessableContent
            )

            let many = (0..<5000).map { "\"s\($0)\": {\"sync_frequency_minutes\": 60}" }.joined(separator: ", ")
            let wide = try await client.send(.patch, path, json: #"{"stream_settings": {\#(many)}}"#)
            #expect(wide.status == .unprocessableContent)
            #expect(wide.errorFields.count == APIError.maxFieldErrors)
            #expect(wide.body.count < 20_000, "\(wide.body.count) bytes")
            #expect(wide.raw["detail"]?.string?.hasSuffix("(and 4900 more)") == true)

            for number in ["5.5", "1e300", "9223372036854775808"] {
                let reply = try await client.send(.put, "\(path)/alert-settings", json: #"{"auto_pause": {"consecutive_failures": \#(number)}}"#)
                #expect(reply.status == .unprocessableContent, "\(number): \(reply.status)")
            }
            #expect(try await client.send(.put, "\(path)/alert-settings", json: #"{"auto_pause": {"consecutive_failures": 5"#).status == .badRequest)
        }
    }
}
