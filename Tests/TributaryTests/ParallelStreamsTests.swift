import Configuration
import Fakes
import Foundation
import Testing

@testable import Tributary

@Suite("A run reads its streams at once, bounded, and the first failure stops the others")
struct ParallelStreamsTests {
    static let streams = ["a", "b", "c", "d", "e", "f"]

    /// A `rest` integration of `streams` on the slow API, paged with `?page=` from 1.
    static func integration(_ client: TestClient, tenant: String, port: Int) async throws -> String {
        let configured: [JSON] = streams.map { name in
            [
                "name": .string(name), "path": .string("/pages/\(name)"), "records_path": "/items", "primary_key": "id",
                "pagination": ["type": "page", "page_param": "page", "size_param": "per_page", "size": 10, "start_page": 1],
            ]
        }
        return try await client.createIntegration(
            tenant: tenant,
            IntegrationBody(
                provider: "rest",
                name: "Slow",
                config: ["base_url": .string("http://127.0.0.1:\(port)"), "auth": ["type": "none"], "streams": .array(configured)]
            )
        )
    }

    /// `tributary.streams.per.run` when given; the default otherwise.
    static func settings(streamsPerRun: Int?) -> [AbsoluteConfigKey: ConfigValue] {
        streamsPerRun.map { ["tributary.streams.per.run": ConfigValue(.string(String($0)), isSecret: false)] } ?? [:]
    }

    @Test("six streams, four at once by default, one at a time when so configured; every record stored once", arguments: [nil, 1])
    func bounded(streamsPerRun: Int?) async throws {
        let api = SlowPagesAPI(pages: 3, perPage: 10, delay: .milliseconds(400))
        try await withFakeServer(api.router) { port in
            try await TestApp.run(extra: Self.settings(streamsPerRun: streamsPerRun), worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.integration(client, tenant: tenant, port: port)
                let run = try await client.waitForRun(tenant: tenant, integration: id, timeout: .seconds(120))
                #expect(run.status == "succeeded", "\(run)")
                for name in Self.streams { #expect(run.streams[name]?.recordsUpserted == 30, "\(name)") }
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.count == 6 * 30)
                #expect(Set(records.map(\.id)).count == 6 * 30)
                // Every stream was read to its empty page, once: 4 requests each.
                #expect(await api.requests == Dictionary(uniqueKeysWithValues: Self.streams.map { ($0, 4) }))
                #expect(await api.mostInFlight == (streamsPerRun ?? 4))
            }
        }
    }

    @Test(
        "a stream that fails stops its siblings mid-read; they keep what they stored, and the next run completes them",
        arguments: [nil, 8]
    )
    func firstFailureStopsTheRest(streamsPerRun: Int?) async throws {
        let api = SlowPagesAPI(pages: 40, perPage: 10, delay: .milliseconds(150))
        await api.fail("a")
        try await withFakeServer(api.router) { port in
            try await TestApp.run(extra: Self.settings(streamsPerRun: streamsPerRun), worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await Self.integration(client, tenant: tenant, port: port)
                let failed = try await client.waitForRun(tenant: tenant, integration: id, timeout: .seconds(120))
                #expect(failed.status == "failed", "\(failed)")
                #expect(failed.error?.message.contains("/pages/a") == true, "\(String(describing: failed.error))")
                // The siblings stopped long before their 41 pages; the streams after the first four never began.
                let requests = await api.requests
                // With room for all six, all began; with four, the last two never did.
                let began = streamsPerRun == nil ? ["b", "c", "d"] : ["b", "c", "d", "e", "f"]
                for name in began { #expect((1..<20).contains(requests[name] ?? 0), "\(name): \(requests)") }
                if streamsPerRun == nil { #expect(requests["e"] == nil && requests["f"] == nil, "\(requests)") }
                // What they stored is there, whole batches only.
                let stored = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(stored.count % 10 == 0)

                await api.fail(nil)
                let (_, run) = try await client.syncAndWait(tenant: tenant, integration: id)
                #expect(run.status == "succeeded", "\(run)")
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(records.count == 6 * 400)
                #expect(Set(records.map(\.id)).count == 6 * 400)
            }
        }
    }
}
