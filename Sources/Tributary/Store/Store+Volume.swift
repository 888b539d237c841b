import Foundation
import PostgresNIO
import TributaryConnectors

extension StoreConnection {
    /// Per UTC day and stream, the records the integration's runs loaded over the `days` days
    /// ending with `end`'s day (today when nil), counting runs that finished by `end`; days with
    /// none are 0, for every stream in `streams` and every stream that loaded something.
    /// The initial run and full resyncs are left out, as the daily limit leaves them out.
    /// `date AT TIME ZONE` would first read the date in the session's time zone: the first day's
    /// start is cast to a timestamp, so it is UTC midnight whatever the database's `timezone`.
    func volume(integrationID: UUID, streams: [String], days: Int, endingAt end: Date? = nil) async throws -> [VolumeDay] {
        try await rows(
            """
            WITH days AS (
                SELECT d::date AS day FROM generate_series(
                    (coalesce(\(end), now()) AT TIME ZONE 'UTC')::date - \(days - 1)::int,
                    (coalesce(\(end), now()) AT TIME ZONE 'UTC')::date, interval '1 day') d
            ), loaded AS (
                SELECT (r.finished_at AT TIME ZONE 'UTC')::date AS day, s.key AS stream,
                    sum((s.value ->> 'records_upserted')::bigint) AS records
                FROM sync_runs r CROSS JOIN LATERAL jsonb_each(r.stream_stats) s
                WHERE r.integration_id = \(integrationID) AND NOT (r.trigger = 'initial' OR r.full_resync)
                  AND r.finished_at >= (SELECT min(day) FROM days)::timestamp AT TIME ZONE 'UTC'
                  AND r.finished_at <= coalesce(\(end), now())
                GROUP BY 1, 2
            ), streams AS (
                SELECT unnest(\(streams)::text[]) AS stream UNION SELECT stream FROM loaded
            )
            SELECT to_char(d.day, 'YYYY-MM-DD'), st.stream, coalesce(l.records, 0)::bigint
            FROM days d CROSS JOIN streams st LEFT JOIN loaded l ON l.day = d.day AND l.stream = st.stream
            ORDER BY d.day, st.stream
            """,
            as: String.self,
            String.self,
            Int64.self
        ).map { VolumeDay(date: $0.0, stream: $0.1, records: $0.2) }
    }
}

extension Store {
    func volume(integration: Integration, days: Int) async throws -> [VolumeDay] {
        try await withConnection { try await $0.volume(integrationID: integration.id, streams: integration.streams, days: days) }
    }

    /// Everything an alert's email says, read when it is sent: nil when the alert is gone.
    func alertEmailContent(alertID: UUID, chartDays: Int = 14) async throws -> AlertEmailContent? {
        try await withConnection { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT a.kind, t.name, i.id, i.name, i.provider, i.streams, a.stream, a.observed, a.baseline, a.threshold,
                        a.run_id, a.created_at, a.details::text
                    FROM alerts a JOIN tenants t ON t.id = a.tenant_id JOIN integrations i ON i.id = a.integration_id
                    WHERE a.id = \(alertID)
                    """,
                    as: String.self,
                    String.self,
                    UUID.self,
                    String.self,
                    String.self,
                    [String].self,
                    String?.self,
                    Int64?.self,
                    Double?.self,
                    Double?.self,
                    UUID?.self,
                    Date.self,
                    String.self
                ).first,
                let kind = AlertKind(rawValue: row.0)
            else { return nil }
            let details = (try? JSONColumn.object(row.12)) ?? [:]
            let days = try await connection.volume(integrationID: row.2, streams: row.5, days: chartDays, endingAt: row.11)
            var volume: [DailyVolume] = []
            for day in days where row.6 == nil || day.stream == row.6 {
                if volume.last?.date == day.date {
                    volume[volume.count - 1].records += day.records
                } else {
                    volume.append(DailyVolume(date: day.date, records: day.records))
                }
            }
            var error: String?
            var errorCode: String?
            if case .object(let fields)? = details["error"] {
                error = fields["message"]?.stringValue
                errorCode = fields["code"]?.stringValue
            }
            return AlertEmailContent(
                kind: kind,
                alertID: alertID,
                tenantName: row.1,
                integrationName: row.3,
                integrationID: row.2,
                provider: row.4,
                stream: row.6,
                observed: row.7,
                baseline: row.8,
                threshold: row.9,
                runID: row.10,
                raisedAt: row.11,
                paused: details["paused"] == .bool(true),
                pausedForFailure: details["reason"] == .string(PausedReason.persistentFailure.rawValue),
                errorCode: errorCode,
                error: error,
                volume: volume
            )
        }
    }
}
