/// The 14-day volume as a bar chart made of table cells (heights and background colours only),
/// which every mail client draws, unlike SVG or images.
enum AlertEmailChart {
    static let height = 120

    static func render(_ sheet: AlertSheet, accent: String) -> String {
        let days = sheet.content.volume
        guard !days.isEmpty else {
            return "<div style=\"font-size:13px;color:#6b7280;\">No volume recorded in these days.</div>"
        }
        let e = AlertFormat.html
        let largest = max(days.map { max($0.records, 0) }.max() ?? 0, 1)
        var bars = ""
        var labels = ""
        for day in days {
            let records = max(day.records, 0)
            let highlighted = day.date == sheet.alertDay
            let colour = highlighted ? accent : "#9aa5b8"
            let scaled = Int((Double(records) / Double(largest) * Double(height)).rounded())
            let barHeight = records == 0 ? 1 : max(scaled, 3)
            let weight = highlighted ? "font-weight:700;color:\(accent);" : "color:#6b7280;"
            bars += """
                <td align="center" valign="bottom" title="\(e(day.date)): \(AlertFormat.count(records))" \
                style="height:\(height + 18)px;padding:0 2px;vertical-align:bottom;">\
                <div style="font-size:10px;line-height:14px;white-space:nowrap;\(weight)">\(highlighted ? AlertFormat.count(records) : compact(records))</div>\
                <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>\
                <td height="\(barHeight)" style="height:\(barHeight)px;background-color:\(records == 0 ? "#e5e7eb" : colour);\
                font-size:0;line-height:0;">&nbsp;</td></tr></table></td>

                """
            let short = AlertFormat.shortDay(day.date)
            labels += """
                <td align="center" style="padding:6px 0 0 0;border-top:1px solid #d1d5db;font-size:10px;line-height:13px;\(weight)">\
                \(e(short.month))<br>\(e(short.day))</td>

                """
        }
        var legend = "<span style=\"color:\(accent);font-weight:700;\">&#9632;</span> day of the alert"
        if sheet.content.kind == .dataSpike, let baseline = sheet.content.baseline {
            legend += " &nbsp;·&nbsp; baseline \(e(AlertFormat.number(baseline)))"
            if let threshold = sheet.content.threshold { legend += " &nbsp;·&nbsp; threshold \(e(AlertFormat.number(threshold)))" }
        }
        if sheet.content.kind == .dailyLimitExceeded, let limit = sheet.content.threshold {
            legend += " &nbsp;·&nbsp; daily limit \(e(AlertFormat.number(limit)))"
        }
        return """
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="table-layout:fixed;">
            <tr>
            \(bars)</tr>
            <tr>
            \(labels)</tr>
            </table>
            <div style="margin:10px 0 0 0;font-size:12px;color:#6b7280;">\(legend)</div>
            """
    }

    /// 950 → "950", 6000 → "6k", 12500 → "12.5k", 3400000 → "3.4M": short enough for a 40 px column.
    static func compact(_ value: Int64) -> String {
        switch value {
        case ..<1_000: AlertFormat.count(value)
        case ..<1_000_000: AlertFormat.number((Double(value) / 100).rounded(.down) / 10) + "k"
        case ..<1_000_000_000: AlertFormat.number((Double(value) / 100_000).rounded(.down) / 10) + "M"
        default: AlertFormat.number((Double(value) / 100_000_000).rounded(.down) / 10) + "G"
        }
    }
}
