import Foundation
import PostgresNIO
import TributaryConnectors

extension StoreConnection {
    /// Raises an alert, once per `dedupKey`: the alert row, its email in the outbox (to the
    /// tenant's `alert_emails` as they are now), `alert.raised` in the log and to webhooks — all
    /// in the caller's transaction. Nil when the key was already taken.
    @discardableResult
    func raiseAlert(_ draft: AlertDraft) async throws -> Alert? {
        let id = UUID()
        let details = try JSONColumn.text(draft.details)
        guard
            let createdAt = try await rows(
                """
                INSERT INTO alerts (id, tenant_id, integration_id, kind, stream, observed, baseline, threshold, run_id, details, dedup_key)
                VALUES (\(id), \(draft.tenantID), \(draft.integrationID), \(draft.kind.rawValue), \(draft.stream), \(draft.observed),
                        \(draft.baseline), \(draft.threshold), \(draft.runID), \(details)::jsonb, \(draft.dedupKey))
                ON CONFLICT (dedup_key) DO NOTHING
                RETURNING created_at
                """,
                as: Date.self
            ).first
        else { return nil }
        let recipients = try await rows("SELECT alert_emails FROM tenants WHERE id = \(draft.tenantID)", as: [String].self).first ?? []
        if !recipients.isEmpty {
            try await query(
                """
                INSERT INTO outbox (id, tenant_id, channel, alert_id, recipients, give_up_at)
                VALUES (\(UUID()), \(draft.tenantID), 'email', \(id), \(recipients),
                        now() + interval '1 second' * \(DeliverySchedule.emailGivesUpAfter.components.seconds))
                """
            )
        }
        let alert = Alert(
            id: id,
            kind: draft.kind,
            integrationID: draft.integrationID,
            stream: draft.stream,
            observed: draft.observed,
            baseline: draft.baseline,
            threshold: draft.threshold,
            runID: draft.runID,
            details: draft.details,
            createdAt: createdAt,
            delivery: Alert.Delivery(email: recipients.isEmpty ? .none : .pending, attempts: 0, sentAt: nil, lastError: nil)
        )
        var activity: [String: JSONValue] = ["alert_id": .string(id.lowercased), "kind": .string(draft.kind.rawValue)]
        activity["stream"] = draft.stream.map(JSONValue.string)
        activity["observed"] = draft.observed.map { .number(Double($0)) }
        try await appendActivity(
            ActivityDraft(tenantID: draft.tenantID, actor: .system, action: .alertRaised, integrationID: draft.integrationID, details: activity)
        )
        try await announce(.alertRaised, tenantID: draft.tenantID, data: alert)
        return alert
    }

    /// Queues the event for every enabled webhook of the tenant that subscribed to it, in the
    /// caller's transaction: one event id and one body for all of them, the same on every retry.
    func announce<Payload: Encodable & Sendable>(_ type: WebhookEventType, tenantID: UUID, data: Payload) async throws {
        let subscribed =
            try await rows(
                "SELECT count(*)::int FROM webhooks WHERE tenant_id = \(tenantID) AND status = 'enabled' AND \(type.rawValue) = ANY(events)",
                as: Int.self
            ).first ?? 0
        guard subscribed > 0 else { return }
        let event = WebhookEvent(id: UUID(), type: type, createdAt: Date(), data: data)
        try await query(
            """
            INSERT INTO outbox (id, tenant_id, channel, webhook_id, event_id, event_type, body, give_up_at)
            SELECT gen_random_uuid(), tenant_id, 'webhook', id, \(event.id), \(type.rawValue), \(try event.body()),
                   now() + interval '1 second' * \(DeliverySchedule.webhookGivesUpAfter.components.seconds)
            FROM webhooks WHERE tenant_id = \(tenantID) AND status = 'enabled' AND \(type.rawValue) = ANY(events)
            """
        )
    }

    /// The integration's alert settings; the defaults when none were set.
    func alertSettings(integrationID: UUID) async throws -> AlertSettings {
        let row = try await rows(
            """
            SELECT spike_enabled, threshold_percent, min_records, baseline_runs, daily_limit, pause_on_daily_limit,
                failures_enabled, consecutive_failures, auto_pause_enabled, auto_pause_failures, auto_pause_days
            FROM alert_settings WHERE integration_id = \(integrationID)
            """,
            as: Bool.self,
            Int.self,
            Int64.self,
            Int.self,
            Int64?.self,
            Bool.self,
            Bool.self,
            Int.self,
            Bool.self,
            Int.self,
            Int.self
        ).first
        var settings = AlertSettings()
        guard let row else { return settings }
        settings.dataSpike.enabled = row.0
        settings.dataSpike.thresholdPercent = row.1
        settings.dataSpike.minRecords = row.2
        settings.dataSpike.baselineRuns = row.3
        settings.dataSpike.dailyLimit = row.4
        settings.dataSpike.pauseOnDailyLimit = row.5
        settings.syncFailures.enabled = row.6
        settings.syncFailures.consecutiveFailures = row.7
        settings.autoPause.enabled = row.8
        settings.autoPause.consecutiveFailures = row.9
        settings.autoPause.failingDays = row.10
        return settings
    }
}

extension Store {
    func alertSettings(integrationID: UUID) async throws -> AlertSettings {
        try await withConnection { try await $0.alertSettings(integrationID: integrationID) }
    }

    /// Replaces the integration's alert settings, logged as `alert_settings.updated`.
    func setAlertSettings(_ settings: AlertSettings, integration: Integration, actor: ActivityActor) async throws -> AlertSettings {
        try await withTransaction { connection in
            let spike = settings.dataSpike
            let failures = settings.syncFailures
            let pause = settings.autoPause
            try await connection.query(
                """
                INSERT INTO alert_settings (integration_id, tenant_id, spike_enabled, threshold_percent, min_records, baseline_runs,
                    daily_limit, pause_on_daily_limit, failures_enabled, consecutive_failures,
                    auto_pause_enabled, auto_pause_failures, auto_pause_days)
                VALUES (\(integration.id), \(integration.tenantID), \(spike.enabled), \(spike.thresholdPercent), \(spike.minRecords),
                        \(spike.baselineRuns), \(spike.dailyLimit), \(spike.pauseOnDailyLimit), \(failures.enabled),
                        \(failures.consecutiveFailures), \(pause.enabled), \(pause.consecutiveFailures), \(pause.failingDays))
                ON CONFLICT (integration_id) DO UPDATE SET spike_enabled = excluded.spike_enabled,
                    threshold_percent = excluded.threshold_percent, min_records = excluded.min_records,
                    baseline_runs = excluded.baseline_runs, daily_limit = excluded.daily_limit,
                    pause_on_daily_limit = excluded.pause_on_daily_limit, failures_enabled = excluded.failures_enabled,
                    consecutive_failures = excluded.consecutive_failures, auto_pause_enabled = excluded.auto_pause_enabled,
                    auto_pause_failures = excluded.auto_pause_failures, auto_pause_days = excluded.auto_pause_days,
                    updated_at = now()
                """
            )
            let details = try JSONColumn.object(try JSONColumn.text(settings))
            try await connection.appendActivity(
                ActivityDraft(
                    tenantID: integration.tenantID,
                    actor: actor,
                    action: .alertSettingsUpdated,
                    integrationID: integration.id,
                    details: details
                )
            )
            return settings
        }
    }

    /// A tenant's alerts, newest first, each with how its email fared.
    func alerts(tenantID: UUID, filter: AlertFilter, after: TimeKeyset?, limit: Int) async throws -> Page<Alert> {
        let rows = try await withConnection { connection in
            try await connection.rows(
                """
                SELECT a.id, a.kind, a.integration_id, a.stream, a.observed, a.baseline, a.threshold, a.run_id, a.details::text,
                    a.created_at, o.status, coalesce(o.attempts, 0), o.delivered_at, o.last_error,
                    (extract(epoch FROM a.created_at) * 1000000)::bigint
                FROM alerts a LEFT JOIN outbox o ON o.alert_id = a.id AND o.channel = 'email'
                WHERE a.tenant_id = \(tenantID) AND a.kind = ANY(\(AlertKind.allCases.map(\.rawValue)))
                  AND (\(filter.kind?.rawValue)::text IS NULL OR a.kind = \(filter.kind?.rawValue))
                  AND (\(filter.integrationID)::uuid IS NULL OR a.integration_id = \(filter.integrationID))
                  AND (\(filter.since)::timestamptz IS NULL OR a.created_at >= \(filter.since))
                  AND (\(after == nil) OR (a.created_at, a.id) < (\(unescaped: Self.epochPlus)\(after?.micros ?? 0)), \(after?.id)))
                ORDER BY a.created_at DESC, a.id DESC
                LIMIT \(limit + 1)
                """,
                as: UUID.self,
                String.self,
                UUID?.self,
                String?.self,
                Int64?.self,
                Double?.self,
                Double?.self,
                UUID?.self,
                String.self,
                Date.self,
                String?.self,
                Int.self,
                Date?.self,
                String?.self,
                Int64.self
            )
        }
        let alerts = rows.compactMap { row -> (Alert, Int64, UUID)? in
            // The query keeps to the kinds this build knows (a newer one may write others).
            guard let kind = AlertKind(rawValue: row.1) else { return nil }
            let email: Alert.EmailState =
                switch row.10 {
                case nil: .none
                case "delivered": .sent
                case "failed": .failed
                default: .pending
                }
            let alert = Alert(
                id: row.0,
                kind: kind,
                integrationID: row.2,
                stream: row.3,
                observed: row.4,
                baseline: row.5,
                threshold: row.6,
                runID: row.7,
                details: (try? JSONColumn.object(row.8)) ?? [:],
                createdAt: row.9,
                delivery: Alert.Delivery(email: email, attempts: row.11, sentAt: row.12, lastError: row.13)
            )
            return (alert, row.14, row.0)
        }
        return Self.page(alerts, limit: limit)
    }
}
