import Foundation

/// Turns an alert into the email that announces it: subject, plain text and HTML saying the same.
enum AlertEmail {
    static func compose(_ content: AlertEmailContent, from: String, to: [String], messageID: String) -> EmailMessage {
        let sheet = AlertSheet(content)
        return EmailMessage(
            from: from,
            to: to,
            subject: sheet.subject,
            text: AlertEmailText.render(sheet),
            html: AlertEmailHTML.render(sheet),
            messageID: messageID,
            date: content.raisedAt
        )
    }
}

/// What both parts of an alert email say, worked out once from the alert.
struct AlertSheet: Sendable {
    var content: AlertEmailContent
    var subject: String
    var title: String
    var summary: String
    var facts: [(label: String, value: String)]
    var action: String
    var nextSteps: [String]
    var chartTitle: String
    /// The UTC day of the alert, highlighted in the chart.
    var alertDay: String

    init(_ content: AlertEmailContent) {
        self.content = content
        let name = MIME.headerValue(content.integrationName)
        let integrationPath = "/v1/tenants/{tenant_id}/integrations/\(content.integrationID.uuidString.lowercased())"
        let wording = AlertWording(content: content, name: name, path: integrationPath)
        subject = wording.subject
        title = wording.title
        summary = wording.summary
        action = wording.action
        nextSteps = wording.nextSteps
        alertDay = AlertFormat.day(content.raisedAt)
        chartTitle =
            content.stream.map { "Records loaded per day in \($0), last 14 days (UTC)" }
            ?? "Records loaded per day, all streams, last 14 days (UTC)"
        var facts: [(label: String, value: String)] = [
            ("Tenant", content.tenantName),
            ("Integration", "\(content.integrationName) (\(content.integrationID.uuidString.lowercased()))"),
            ("Provider", content.provider),
        ]
        if let stream = content.stream { facts.append(("Stream", stream)) }
        facts += wording.measures
        if let run = content.runID { facts.append(("Run", run.uuidString.lowercased())) }
        facts.append(("Raised at", AlertFormat.time(content.raisedAt)))
        if let error = content.error, !error.isEmpty { facts.append(("Last error", String(error.prefix(2_000)))) }
        self.facts = facts
    }
}
