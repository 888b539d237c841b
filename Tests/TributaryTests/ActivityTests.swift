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
                ("limit=500", "limit"),
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
}
