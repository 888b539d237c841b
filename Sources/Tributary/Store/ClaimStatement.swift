import Foundation
import PostgresNIO

/// The queue's claim: the next run within the limits, a run of a tenant with the fewest running
/// runs first, then the oldest, set running under `owner`'s lease. `Store.claimRuns` runs it under
/// the claim lock. Prepared once per connection: Postgres planned it in about 3 ms and ran it in
/// about 1 (`bench/queue`).
///
/// Its cost follows what runs, not what waits: the running runs are counted once (a few hashed
/// rows); a tenant with none running gets its oldest queued run from the queue index in order,
/// skipping only the runs of busy tenants and full providers; each busy tenant under its limit
/// gets its own oldest from the per-tenant index (`migrations/0008`, `bench/claim-run`). The run
/// is then updated through its primary key whatever the statistics say (a scalar subquery, not a
/// join the planner may turn into a scan of the queue).
struct ClaimStatement: PostgresPreparedStatement {
    static let sql = """
        WITH running AS (
            SELECT tenant_id, provider, integration_id FROM sync_runs WHERE status = 'running'
        ), blocked_integrations AS (
            -- Integrations sharing a provider account with a running run: computed once, from
            -- the few running runs, through the fingerprint index (migrations/0011).
            SELECT other.integration_id FROM running r
            JOIN credentials mine ON mine.integration_id = r.integration_id
            JOIN credentials other ON other.fingerprint = mine.fingerprint
                AND other.bound_origin IS NOT DISTINCT FROM mine.bound_origin
            JOIN integrations i ON i.id = other.integration_id AND i.provider = r.provider
        ), busy_tenants AS (
            SELECT tenant_id, count(*) AS n_running FROM running GROUP BY tenant_id
        ), full_providers AS (
            SELECT provider FROM running GROUP BY provider HAVING count(*) >= $3
        ), idle_tenant_run AS (
            SELECT r.id, 0::bigint AS n_running, r.not_before, r.queued_at FROM sync_runs r
            WHERE r.status = 'queued' AND r.not_before <= now()
              AND r.tenant_id NOT IN (SELECT tenant_id FROM busy_tenants)
              AND r.provider NOT IN (SELECT provider FROM full_providers)
              AND r.integration_id NOT IN (SELECT integration_id FROM blocked_integrations)
            ORDER BY r.not_before, r.queued_at
            LIMIT 1
        ), busy_tenant_run AS (
            SELECT oldest.id, t.n_running, oldest.not_before, oldest.queued_at FROM busy_tenants t
            CROSS JOIN LATERAL (
                SELECT r.id, r.not_before, r.queued_at FROM sync_runs r
                WHERE r.tenant_id = t.tenant_id AND r.status = 'queued' AND r.not_before <= now()
                  AND r.provider NOT IN (SELECT provider FROM full_providers)
                  AND r.integration_id NOT IN (SELECT integration_id FROM blocked_integrations)
                ORDER BY r.not_before, r.queued_at
                LIMIT 1
            ) oldest
            -- Only when no idle tenant has a run: a busy tenant's would come second anyway.
            WHERE t.n_running < $4 AND NOT EXISTS (SELECT 1 FROM idle_tenant_run)
        )
        UPDATE sync_runs r SET status = 'running', lease_owner = $1,
            lease_expires_at = now() + interval '1 second' * $2,
            started_at = coalesce(r.started_at, now()), task_pid = NULL
        WHERE r.id = (
            SELECT id FROM (SELECT * FROM idle_tenant_run UNION ALL SELECT * FROM busy_tenant_run) c
            ORDER BY n_running, not_before, queued_at
            LIMIT 1
        ) AND r.status = 'queued'
        RETURNING r.id, r.tenant_id, r.integration_id, r.attempt, r.trigger
        """

    /// Said, not inferred: Postgres would take `$2` for a float8 from `interval * $2`.
    static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .int8, .int8]

    struct Row {
        var id: UUID
        var tenantID: UUID
        var integrationID: UUID
        var attempt: Int
        var trigger: String
    }

    var owner: String
    var leaseSeconds: Int
    var limits: ClaimLimits

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(owner)
        bindings.append(leaseSeconds)
        bindings.append(limits.perProvider)
        bindings.append(limits.perTenant)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (id, tenantID, integrationID, attempt, trigger) = try row.decode((UUID, UUID, UUID, Int, String).self)
        return Row(id: id, tenantID: tenantID, integrationID: integrationID, attempt: attempt, trigger: trigger)
    }
}
