import Foundation
import Hummingbird

/// `/v1/tenants/{tenant_id}/integrations/{integration_id}/alert-settings` and `/volume`: how an
/// integration's alerts are judged, and the daily volume that helps choose a limit.
struct AlertSettingsController {
    let store: Store

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get("alert-settings", use: show).put("alert-settings", use: replace).get("volume", use: volume)
    }

    static let volumeDays = 1...90
    static let defaultVolumeDays = 30

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<AlertSettings> {
        let integration = try await context.integration(in: store)
        return JSONResponse(try await store.alertSettings(integrationID: integration.id))
    }

    @Sendable func replace(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<AlertSettings> {
        let integration = try await context.integration(in: store)
        let settings = try await request.decodeJSON(as: AlertSettings.self, context: context)
        var validator = Validator()
        validator.alertSettings(settings)
        try validator.check()
        return JSONResponse(try await store.setAlertSettings(settings, integration: integration, actor: context.caller.actor))
    }

    struct VolumeBody: Encodable, Sendable {
        var data: [VolumeDay]
    }

    @Sendable func volume(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<VolumeBody> {
        let integration = try await context.integration(in: store)
        var days = Self.defaultVolumeDays
        if let text = request.uri.queryParameters["days"].map(String.init) {
            guard let value = Int(text), Self.volumeDays.contains(value) else {
                throw APIError.badQuery(field: "days", "must be a whole number from 1 to 90")
            }
            days = value
        }
        return JSONResponse(VolumeBody(data: try await store.volume(integration: integration, days: days)))
    }
}

extension Validator {
    /// Each number of the settings within its bounds, each failure naming its field.
    mutating func alertSettings(_ settings: AlertSettings) {
        func check<T: Comparable>(_ value: T, _ range: ClosedRange<T>, _ field: String) {
            if !range.contains(value) { fail(field, "must be from \(range.lowerBound) to \(range.upperBound)") }
        }
        let spike = settings.dataSpike
        check(spike.thresholdPercent, AlertSettings.thresholdPercentRange, "data_spike.threshold_percent")
        check(spike.minRecords, AlertSettings.minRecordsRange, "data_spike.min_records")
        check(spike.baselineRuns, AlertSettings.baselineRunsRange, "data_spike.baseline_runs")
        if let limit = spike.dailyLimit { check(limit, AlertSettings.dailyLimitRange, "data_spike.daily_limit") }
        check(settings.syncFailures.consecutiveFailures, AlertSettings.consecutiveFailuresRange, "sync_failures.consecutive_failures")
        check(settings.autoPause.consecutiveFailures, AlertSettings.consecutiveFailuresRange, "auto_pause.consecutive_failures")
        check(settings.autoPause.failingDays, AlertSettings.failingDaysRange, "auto_pause.failing_days")
    }
}
