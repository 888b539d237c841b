/// The plain-text part of an alert email: the same facts and numbers as the HTML part.
enum AlertEmailText {
    static func render(_ sheet: AlertSheet) -> String {
        let width = (sheet.facts.map(\.label.count).max() ?? 0) + 2
        var lines = [sheet.title, String(repeating: "-", count: min(sheet.title.count, 72)), "", sheet.summary, ""]
        for fact in sheet.facts {
            let label = fact.label + ":"
            lines.append(label + String(repeating: " ", count: max(1, width - label.count)) + fact.value)
        }
        lines += ["", "What Tributary did", "  " + sheet.action, "", "What to do next"]
        for (index, step) in sheet.nextSteps.enumerated() {
            lines.append("  \(index + 1). \(step)")
        }
        lines += ["", sheet.chartTitle]
        let counts = sheet.content.volume.map { AlertFormat.count($0.records) }
        let column = max(counts.map(\.count).max() ?? 0, 7)
        for (day, count) in zip(sheet.content.volume, counts) {
            let padded = String(repeating: " ", count: column - count.count) + count
            lines.append("  \(day.date)  \(padded)" + (day.date == sheet.alertDay ? "  <-- day of the alert" : ""))
        }
        if sheet.content.volume.isEmpty { lines.append("  (no volume recorded)") }
        lines += [
            "",
            "--",
            "Tributary alert \(sheet.content.alertID.uuidString.lowercased()), sent to the tenant's alert_emails.",
        ]
        return lines.joined(separator: "\n")
    }
}
