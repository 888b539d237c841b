import Fakes
import Foundation
import HTTPTypes
import Testing

@testable import Tributary

/// One tenant cannot fill the disk or the catalog for everyone: each limit refuses clearly.
@Suite("Per-tenant limits: integrations, stored records, record size")
struct TenantLimitsTests {
    static func demo(_ records: Int) -> IntegrationBody {
        IntegrationBody(provider: "demo", name: "Demo", streams: ["contacts"], config: ["records_per_run": .int(Int64(records))])
    }

    @Test("past TRIBUTARY_MAX_INTEGRATIONS_PER_TENANT a create answers 409 naming the limit, even when raced")
    func integrationsPerTenant() async throws {
        try await TestApp.run(extra: ["tributary.max.integrations.per.tenant": "3"]) { client in
            let acme = try await client.createTenant("Acme")
            let globex = try await client.createTenant("Globex")
            let path = "/v1/tenants/\(acme)/integrations"
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 { group.addTask { try await client.send(.post, path, body: Self.demo(10)).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 3)
            #expect(statuses.filter { $0 == .conflict }.count == 3)
            let refused = try await client.send(.post, path, body: Self.demo(10))
            #expect(refused.status == .conflict)
            #expect(refused.raw["type"]?.string == "https://tributary.dev/problems/limit-exceeded")
            #expect(refused.raw["limit"]?.string == "integrations_per_tenant")
            #expect(refused.raw["max"] == 3)
            #expect(try await client.send(.get, path).decode(ListOf<IntegrationView>.self).data.count == 3)
            // Another tenant has its own allowance.
            #expect(try await client.send(.post, "/v1/tenants/\(globex)/integrations", body: Self.demo(10)).status == .created)
        }
    }

    @Test("past TRIBUTARY_MAX_RECORDS_PER_TENANT a run fails naming the limit, keeping what fit; deleting frees it")
    func recordsPerTenant() async throws {
        try await TestApp.run(extra: ["tributary.max.records.per.tenant": "120"], worker: true) { client in
            let tenant = try await client.createTenant()
            let small = try await client.createIntegration(tenant: tenant, Self.demo(100))
            #expect(try await client.waitForRun(tenant: tenant, integration: small).status == "succeeded")
            let big = try await client.createIntegration(
                tenant: tenant,
                IntegrationBody(
                    provider: "demo",
                    name: "Big",
                    streams: ["contacts"],
                    config: ["records_per_run": 60, "batch_size": 10]
                )
            )
            let failed = try await client.waitForRun(tenant: tenant, integration: big)
            #expect(failed.status == "failed")
            #expect(failed.error?.code == "record_limit_exceeded")
            #expect(failed.attempt == 1)
            #expect(failed.error?.message.contains("records_per_tenant") == true)
            let stored = try await client.database.rows(
                PostgresQueryText("SELECT count(*)::bigint FROM records WHERE tenant_id = '\(tenant)'"),
                as: Int64.self
            )
            let counted = try await client.database.rows(
                PostgresQueryText("SELECT record_count FROM tenants WHERE id = '\(tenant)'"),
                as: Int64.self
            )
            #expect(stored == [120])
            #expect(counted == stored)

            #expect(try await client.send(.delete, "/v1/tenants/\(tenant)/integrations/\(small)").status == .noContent)
            #expect(
                try await client.database.rows(PostgresQueryText("SELECT record_count FROM tenants WHERE id = '\(tenant)'"), as: Int64.self)
                    == [20]
            )
            let (_, run) = try await client.syncAndWait(tenant: tenant, integration: big)
            #expect(run.status == "succeeded")
            #expect(try await client.send(.get, "/healthz", as: .none).status == .ok)
        }
    }

    @Test("a record over TRIBUTARY_MAX_RECORD_BYTES is skipped and counted, the run succeeds, the rest are stored")
    func recordSize() async throws {
        let api = FakeJSONAPI()
        let now = Date()
        for id in 1...5 { await api.add(id: id, updatedAt: now, name: "item \(id)") }
        await api.add(id: 6, updatedAt: now, name: String(repeating: "x", count: 4000))
        try await withFakeServer(api.router) { port in
            try await TestApp.run(extra: ["tributary.max.record.bytes": "1024"], worker: true) { client in
                let tenant = try await client.createTenant()
                let id = try await client.createIntegration(
                    tenant: tenant,
                    IntegrationBody(
                        provider: "rest",
                        name: "Rest",
                        config: [
                            "base_url": .string("http://127.0.0.1:\(port)"),
                            "streams": [["name": "items", "path": "/items/plain", "primary_key": "id"]],
                        ]
                    )
                )
                let run = try await client.waitForRun(tenant: tenant, integration: id)
                #expect(run.status == "succeeded")
                #expect(run.streams["items"]?.recordsRead == 6)
                #expect(run.streams["items"]?.recordsSkipped == 1)
                #expect(run.streams["items"]?.recordsUpserted == 5)
                let records = try await client.allRecords(tenant: tenant, integration: id).records
                #expect(Set(records.map(\.id)) == ["1", "2", "3", "4", "5"])
            }
        }
    }
}
