import Foundation

/// The HTML part of an alert email: table layout, inline styles only (some mail clients drop
/// `<style>` blocks, and all drop scripts, SVG and `data:` images), at most 600 px wide, and the
/// volume chart built from table cells. Every interpolated value goes through `AlertFormat.html`.
enum AlertEmailHTML {
    static let font = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"

    static func render(_ sheet: AlertSheet) -> String {
        let accent = accent(sheet.content.kind)
        let e = AlertFormat.html
        var facts = ""
        for fact in sheet.facts {
            facts += """
                <tr><td width="130" style="padding:7px 12px 7px 0;border-bottom:1px solid #eef0f3;color:#6b7280;font-size:13px;\
                vertical-align:top;">\(e(fact.label))</td>\
                <td style="padding:7px 0;border-bottom:1px solid #eef0f3;font-size:14px;color:#111827;word-break:break-word;">\
                \(e(fact.value))</td></tr>

                """
        }
        let steps = sheet.nextSteps.map { "<li style=\"margin:0 0 8px 0;\">\(withCode($0))</li>" }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>\(e(sheet.subject))</title></head>
            <body style="margin:0;padding:0;background-color:#f3f4f6;">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f3f4f6;">
            <tr><td align="center" style="padding:24px 12px;">
            <table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;\
            background-color:#ffffff;border:1px solid #e5e7eb;border-top:4px solid \(accent);font-family:\(font);color:#1f2937;">
            <tr><td style="padding:24px 28px 4px 28px;">
            <div style="font-size:12px;font-weight:600;letter-spacing:0.08em;text-transform:uppercase;color:\(accent);">Tributary alert</div>
            <h1 style="margin:6px 0 12px 0;font-size:22px;line-height:1.3;font-weight:700;color:#111827;">\(e(sheet.title))</h1>
            <p style="margin:0 0 16px 0;font-size:15px;line-height:1.55;color:#374151;">\(e(sheet.summary))</p>
            </td></tr>
            <tr><td style="padding:0 28px 8px 28px;">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">
            \(facts)</table>
            </td></tr>
            <tr><td style="padding:20px 28px 4px 28px;">
            <div style="font-size:15px;font-weight:600;color:#111827;margin:0 0 12px 0;">\(e(sheet.chartTitle))</div>
            \(AlertEmailChart.render(sheet, accent: accent))
            </td></tr>
            <tr><td style="padding:16px 28px 0 28px;">
            <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>
            <td style="padding:12px 16px;background-color:#f9fafb;border-left:3px solid \(accent);font-size:14px;line-height:1.5;color:#374151;">
            <div style="font-weight:600;color:#111827;margin:0 0 4px 0;">What Tributary did</div>\(e(sheet.action))</td>
            </tr></table>
            </td></tr>
            <tr><td style="padding:18px 28px 8px 28px;font-size:14px;line-height:1.5;color:#374151;">
            <div style="font-weight:600;color:#111827;margin:0 0 8px 0;">What to do next</div>
            <ol style="margin:0;padding:0 0 0 20px;">
            \(steps)
            </ol>
            </td></tr>
            <tr><td style="padding:18px 28px 22px 28px;border-top:1px solid #eef0f3;font-size:12px;line-height:1.5;color:#9ca3af;">
            Tributary alert \(e(sheet.content.alertID.uuidString.lowercased())), sent to the alert_emails of \
            \(e(sheet.content.tenantName)).
            </td></tr>
            </table>
            </td></tr>
            </table>
            </body></html>
            """
    }

    /// `text` escaped, each `…` pair (the wording's mark for an API call) set in a monospace span that
    /// may wrap after a slash.
    static func withCode(_ text: String) -> String {
        let pieces = AlertFormat.html(text).split(separator: "`", omittingEmptySubsequences: false)
        return pieces.enumerated().map { index, piece in
            index % 2 == 0
                ? String(piece)
                : "<code style=\"font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;"
                    + "background-color:#f3f4f6;padding:1px 4px;\">\(piece.replacingOccurrences(of: "/", with: "/<wbr>"))</code>"
        }
        .joined()
    }

    static func accent(_ kind: AlertKind) -> String {
        switch kind {
        case .dataSpike: "#d9480f"
        case .dailyLimitExceeded: "#c2255c"
        case .syncFailures: "#c92a2a"
        case .reauthorizationRequired: "#e67700"
        }
    }
}
