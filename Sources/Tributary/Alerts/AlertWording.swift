import Foundation
import TributaryConnectors

/// The kind-specific sentences of an alert email.
struct AlertWording {
    var subject = ""
    var title = ""
    var summary = ""
    var measures: [(label: String, value: String)] = []
    var action = ""
    var nextSteps: [String] = []

    init(content: AlertEmailContent, name: String, path: String) {
        let observed = content.observed.map(AlertFormat.count)
        let baseline = content.baseline.map(AlertFormat.number)
        let threshold = content.threshold.map(AlertFormat.number)
        let pausedText =
            "Tributary paused the integration: no new run starts until you resume it. "
            + "The run that raised the alert completed and its data is kept."
        let resume = "Resume with `PATCH \(path)` and the body `{\"status\":\"active\"}`."
        let settings = "`PUT \(path)/alert-settings`"
        switch content.kind {
        case .dataSpike:
            let stream = content.stream ?? "a stream"
            subject = "Data spike on \(name): \(stream)" + (observed.map { " \($0)" } ?? "") + (baseline.map { " vs \($0)" } ?? "")
            title = "Data spike on \(name)"
            var ratio = ""
            if let observed = content.observed, let median = content.baseline, median > 0 {
                ratio = ", \(AlertFormat.number(Double(observed) / median))× its usual volume"
            }
            summary =
                "The \(stream) stream loaded \(observed ?? "an unusual number of") records in one run\(ratio)."
                + (baseline.map { " Its baseline (the median of its recent runs) is \($0) records" } ?? "")
                + (threshold.map { ", and the alert threshold \($0)." } ?? (baseline == nil ? "" : "."))
            measures = [
                ("Observed", (observed ?? "–") + " records in this run"),
                ("Baseline", (baseline ?? "–") + " records (median of recent runs)"),
                ("Threshold", (threshold ?? "–") + " records"),
            ]
            action = content.paused ? pausedText : "Nothing was paused: the run completed, its data is kept and the schedule goes on."
            nextSteps = [
                "Check \(content.provider) for a bulk import, a migration or an automation that explains the jump.",
                "If the jump is expected, nothing needs doing: the new volume joins the baseline over the next runs.",
                content.paused
                    ? resume
                    : "If it is not, pause the integration while you look: `PATCH \(path)` with `{\"status\":\"paused\"}`.",
                "To tune this alert (threshold_percent, min_records, baseline_runs): \(settings).",
            ]
        case .dailyLimitExceeded:
            subject =
                "Daily limit exceeded on \(name): \(observed ?? "more") records today" + (threshold.map { " (limit \($0))" } ?? "")
            title = "Daily limit exceeded on \(name)"
            summary =
                "\(name) loaded \(observed ?? "more") records today (UTC)"
                + (threshold.map { ", past its daily limit of \($0)." } ?? ", past its daily limit.")
            measures = [
                ("Observed", (observed ?? "–") + " records today (UTC)"),
                ("Daily limit", (threshold ?? "–") + " records"),
            ]
            action =
                content.paused
                ? pausedText : "Nothing was paused (pause_on_daily_limit is off): runs go on as scheduled and their data is kept."
            nextSteps = [
                "Check \(content.provider) for a bulk import or a runaway automation behind today's volume.",
                "If the volume is expected, raise daily_limit with \(settings).",
                content.paused
                    ? resume
                    : "To stop runs when the limit is passed, set pause_on_daily_limit with \(settings); to stop them now, "
                        + "`PATCH \(path)` with `{\"status\":\"paused\"}`.",
            ]
        case .syncFailures:
            let failures = observed ?? threshold ?? "Several"
            subject = "Sync failing on \(name): \(failures) failures in a row"
            title = "Sync failing on \(name)"
            summary = "The last \(failures) runs of \(name) failed in a row: no new data is arriving from \(content.provider)."
            measures = [
                ("Failures", "\(failures) in a row"),
                ("Alert after", (threshold ?? "–") + " failures in a row"),
            ]
            if content.pausedForFailure {
                subject = "Paused \(name): \(failures) failures in a row"
                title = "Paused \(name): its runs keep failing"
                measures[1] = ("Paused after", (threshold ?? "–") + " failures in a row, or days of failing (auto_pause in \(settings))")
            }
            action =
                content.pausedForFailure
                ? "Tributary paused the integration (auto_pause): its runs kept failing, and retrying on schedule helps nobody. "
                    + "No new run starts until you resume it. " + resume
                : content.paused
                    ? "Tributary paused the integration: no new run starts until you resume it."
                    : "Nothing was paused: Tributary keeps running the integration on its schedule."
            nextSteps = [
                "Read the last run: `GET \(path)/syncs/\(content.runID?.uuidString.lowercased() ?? "{run_id}")`; its error says what failed.",
                "Fix the cause: the credential (`POST \(path)/check` tests it), \(content.provider)'s status, or the integration's config.",
                content.pausedForFailure
                    ? "Then resume it; the streak starts again from zero."
                    : "The next successful run ends the streak; a new streak raises a new alert.",
            ]
        case .reauthorizationRequired where content.errorCode == ConnectorError.credentialRejected:
            subject = "Reconnect \(name): the provider refused its credential"
            title = "Reconnect \(name)"
            summary =
                "\(content.provider) refused the credential of \(name) (a revoked key, or one without the rights a stream needs)"
                + (content.error.map { ": \($0)" } ?? ".")
            action = "Tributary marked the integration reauthorization_required at once: no run starts until it has a new credential."
            nextSteps = [
                "Give it a new API key: `PUT \(path)/credential` with `{\"type\":\"api_key\",\"api_key\":\"…\"}`; "
                    + "an OAuth integration reconnects through `POST \(path)/oauth/authorize` instead.",
                "Runs resume by themselves once the new credential is stored.",
            ]
        case .reauthorizationRequired:
            subject = "Reconnect \(name): the provider refused its refresh token"
            title = "Reconnect \(name)"
            summary = "\(content.provider) refused the refresh token of \(name): no run can reach it until someone reconnects the integration."
            action = "Tributary marked the integration reauthorization_required: its runs stop until it is reconnected."
            nextSteps = [
                "Reconnect through OAuth: `POST \(path)/oauth/authorize`, then open the URL it answers and sign in to \(content.provider).",
                "Runs resume by themselves once the new tokens are stored.",
            ]
        }
    }
}
