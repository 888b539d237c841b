import Foundation
import HTTPTypes
import Testing

@Suite("Activity log")
struct ActivityTests {
    @Test("each change writes an entry with its actor, newest first")
    func entriesForChanges() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            let (keyID, key) = try await client.createKey(tenant: acme)
            let (otherID, _) = try await client.createKey(tenant: acme, name: "second", as: .token(key))
            #expect(try await client.send(.patch, "/v1/tenants/\(acme)", body: TenantBody(name: "Acme Inc")).status == .ok)
            #expect(try await client.send(.delete, "/v1/tenants/\(acme)/api-keys/\(otherID)", as: .token(key)).status == .noContent)

            let reply = try await client.send(.get, "/v1/tenants/\(acme)/activity", as: .token(key))
            let entries = try reply.decode(ListOf<ActivityView>.self).data
            #expect(entries.map(\.action) == ["api_key.revoked", "tenant.updated", "api_key.created", "api_key.created", "tenant.created"])
            #expect(entries[0].actor == .apiKey(keyID))
            #expect(entries[0].details["key_id"] == .string(otherID))
            #expect(entries[1].actor == .admin)
            #expect(entries[1].details["changed"] == ["name"])
            #expect(entries[2].actor == .apiKey(keyID))
            #expect(entries[4].actor == .admin)
            #expect(entries.allSatisfy { $0.integrationID == nil })
            #expect(reply.raw["data"]?[4]?["actor"]?["id"] == .null)
            #expect(!String(decoding: reply.body, as: UTF8.self).contains(key))
        }
    }

    @Test("filters by action and time range, and pages through them")
    func filtersAndPages() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            for index in 0..<5 {
                _ = try await client.createKey(tenant: acme, name: "key \(index)")
            }
            let middle = Date()
            try await Task.sleep(for: .milliseconds(20))
            for index in 0..<3 {
                #expect(try await client.send(.patch, "/v1/tenants/\(acme)", body: TenantBody(name: "Acme \(index)")).status == .ok)
            }

            let created = try await client.send(.get, "/v1/tenants/\(acme)/activity?action=api_key.created&limit=2").decode(ListOf<ActivityView>.self)
            var pageIDs = created.data.map(\.id)
            var cursor = created.nextCursor
            while let next = cursor {
                let page = try await client.send(.get, "/v1/tenants/\(acme)/activity?action=api_key.created&limit=2&cursor=\(next)")
                    .decode(ListOf<ActivityView>.self)
                #expect(page.data.allSatisfy { $0.action == "api_key.created" })
                pageIDs += page.data.map(\.id)
                cursor = page.nextCursor
            }
            #expect(pageIDs.count == 5)
            #expect(Set(pageIDs).count == 5)

            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let stamp = formatter.string(from: middle)
            let since = try await client.send(.get, "/v1/tenants/\(acme)/activity?since=\(stamp)")
            let sinceActions = try since.decode(ListOf<ActivityView>.self).data.map(\.action)
            #expect(sinceActions.filter { $0 == "tenant.updated" }.count == 3)
            #expect(!sinceActions.contains("tenant.created"))
            let until = try await client.send(.get, "/v1/tenants/\(acme)/activity?until=\(stamp)")
            let untilActions = try until.decode(ListOf<ActivityView>.self).data.map(\.action)
            #expect(!untilActions.contains("tenant.updated"))
            #expect(untilActions.contains("tenant.created"))

            let none = try await client.send(.get, "/v1/tenants/\(acme)/activity?integration_id=\(UUID().uuidString)")
            #expect(try none.decode(ListOf<ActivityView>.self).data.isEmpty)
        }
    }

    @Test("malformed filters are 400 naming the parameter")
    func badFilters() async throws {
        try await TestApp.run { client in
            let acme = try await client.createTenant()
            for (query, field) in [
                ("integration_id=nope", "integration_id"), ("since=yesterday", "since"), ("until=2026-13-01", "until"),
                ("limit=500", "limit"), ("severity=urgent", "severity"), ("severity=HIGH", "severity"),
                ("actor_type=robot", "actor_type"), ("actor_id=nope", "actor_id"),
            ] {
                let reply = try await client.send(.get, "/v1/tenants/\(acme)/activity?\(query)")
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.errorFields == [field], "\(query)")
            }
            #expect(try await client.send(.get, "/v1/tenants/\(acme)/activity?action=%00").status == .badRequest)
            let tenantsCursor = try await client.send(.get, "/v1/tenants?limit=1").decode(ListOf<TenantView>.self).nextCursor
            _ = try await client.createTenant("Second")
            let foreign = try await client.send(.get, "/v1/tenants?limit=1").decode(ListOf<TenantView>.self).nextCursor
            let cursor = try #require(foreign ?? tenantsCursor)
            #expect(try await client.send(.get, "/v1/tenants/\(acme)/activity?cursor=\(cursor)").status == .badRequest)
        }
    }

    @Test("each entry has a severity; the log filters by a level and above, and by actor, in keyset pages")
    func severityAndActorFilters() async throws {
        try await TestApp.run(worker: true) { client in
            let acme = try await client.createTenant()
            let (keyID, key) = try await client.createKey(tenant: acme)
            _ = try await client.createKey(tenant: acme, name: "second", as: .token(key))
            #expect(try await client.send(.patch, "/v1/tenants/\(acme)", body: TenantBody(name: "Acme Inc")).status == .ok)
            // The initial run succeeds; run 2 fails with a fault no retry mends.
            let id = try await client.demoIntegration(tenant: acme, config: ["records_per_run": 20, "batch_size": 10, "fail_on_run": 2])
            #expect(try await client.runSyncs(tenant: acme, integration: id, count: 1).map(\.status) == ["failed"])

            let all = try await client.send(.get, "/v1/tenants/\(acme)/activity?limit=100", as: .token(key)).decode(ListOf<ActivityView>.self).data
            var levels: [String: Set<String>] = [:]
            for entry in all { levels[entry.action, default: []].insert(entry.severity) }
            #expect(levels["sync.started"] == ["low"] && levels["sync.succeeded"] == ["low"])
            #expect(levels["tenant.updated"] == ["medium"])
            #expect(levels["tenant.created"] == ["high"] && levels["api_key.created"] == ["high"] && levels["integration.created"] == ["high"])
            #expect(levels["sync.failed"] == ["critical"])

            let rank = ["low": 0, "medium": 1, "high": 2, "critical": 3]
            for (level, least) in rank {
                // One entry a page: the keyset walks the filtered log and meets each entry once, in order.
                var seen: [String] = []
                var cursor: String? = nil
                repeat {
                    let page = try await client.send(
                        .get,
                        "/v1/tenants/\(acme)/activity?severity=\(level)&limit=1\(cursor.map { "&cursor=\($0)" } ?? "")",
                        as: .token(key)
                    ).decode(ListOf<ActivityView>.self)
                    seen += page.data.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(seen == all.filter { (rank[$0.severity] ?? -1) >= least }.map(\.id), "severity=\(level)")
            }
            #expect(all.contains { $0.severity == "low" } && all.contains { $0.severity == "critical" })

            for query in ["actor_type=api_key&actor_id=\(keyID)", "actor_id=\(keyID)"] {
                let byKey = try await client.send(.get, "/v1/tenants/\(acme)/activity?\(query)").decode(ListOf<ActivityView>.self).data
                #expect(byKey.map(\.id) == all.filter { $0.actor == .apiKey(keyID) }.map(\.id), "\(query)")
                #expect(byKey.map(\.action) == ["api_key.created"], "\(query)")
            }
            for type in ["admin", "system", "api_key"] {
                let entries = try await client.send(.get, "/v1/tenants/\(acme)/activity?actor_type=\(type)").decode(ListOf<ActivityView>.self).data
                #expect(!entries.isEmpty && entries.map(\.id) == all.filter { $0.actor.type == type }.map(\.id), "\(type)")
            }
            let systemCritical = try await client.send(.get, "/v1/tenants/\(acme)/activity?actor_type=system&severity=critical")
                .decode(ListOf<ActivityView>.self).data
            #expect(systemCritical.map(\.action) == ["sync.failed"])
            #expect(
                try await client.send(.get, "/v1/tenants/\(acme)/activity?actor_type=admin&actor_id=\(keyID)").decode(ListOf<ActivityView>.self).data
                    .isEmpty
            )
        }
    }
}
