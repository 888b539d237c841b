import Foundation
import Testing

@testable import Tributary

@Suite("The scheduler's tick")
struct SchedulerTests {
    @Test("one tick queues every due integration, however many batches that takes; one with a run in flight gets no second")
    func tickTakesAllDue() async throws {
        let database = try await TestDatabase.create()
        try await TestApp.run(database: database) { client in
            let tenant = try await client.createTenant()
            let created = try await database.rows(
                PostgresQueryText(
                    """
                    WITH made AS (
                        INSERT INTO integrations (id, tenant_id, provider, name, config, streams, status, next_sync_at)
                        SELECT gen_random_uuid(), '\(tenant)', 'demo', 'I' || n, '{}', '{contacts}', 'active',
                               now() - interval '1 second' * n
                        FROM generate_series(1, 1201) n
                        RETURNING id
                    ) SELECT count(*)::int FROM made
                    """
                ),
                as: Int.self
            )
            #expect(created == [1201])
            // One of them already has a run queued (a sync asked for by hand).
            let busy = try await database.rows(
                PostgresQueryText(
                    """
                    INSERT INTO sync_runs (id, tenant_id, integration_id, provider, trigger, status, streams)
                    SELECT gen_random_uuid(), tenant_id, id, provider, 'manual', 'queued', streams
                    FROM integrations WHERE name = 'I1' RETURNING 1
                    """
                ),
                as: Int.self
            )
            #expect(busy == [1])
            let (tick, next) = try await TestServices.with(client.config, logger: client.logger) { services in
                (
                    try await services.store.enqueueDue(batch: 500, maxAttempts: 3),
                    try await services.store.enqueueDue(batch: 500, maxAttempts: 3)
                )
            }
            #expect(tick == 1200)
            #expect(next == 0)
            let left = try await database.rows(
                PostgresQueryText("SELECT count(*)::int FROM integrations WHERE next_sync_at IS NOT NULL"),
                as: Int.self
            )
            #expect(left == [0])
            let runs = try await database.rows(
                PostgresQueryText("SELECT count(*)::int FROM sync_runs WHERE status = 'queued'"),
                as: Int.self
            )
            #expect(runs == [1201])
        }
    }
}
