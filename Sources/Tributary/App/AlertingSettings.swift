import Configuration
import Foundation

/// How alerts leave the building: the SMTP server (none: emails wait in the outbox) and how
/// the worker's outbox sender paces itself.
public struct AlertingSettings: Sendable {
    /// `TRIBUTARY_SMTP_URL`, `TRIBUTARY_SMTP_FROM` and `TRIBUTARY_SMTP_CA_FILE` (a private CA to trust); nil while `TRIBUTARY_SMTP_URL` is not set.
    var smtp: SMTPSettings?
    /// How often an idle sender looks for due deliveries (`TRIBUTARY_OUTBOX_INTERVAL_MS`).
    public var pollInterval: Duration = .seconds(1)
    /// Deliveries one sender makes at once (`TRIBUTARY_OUTBOX_CONCURRENCY`).
    public var concurrency = 8
    /// One webhook delivery's whole exchange (`TRIBUTARY_WEBHOOK_TIMEOUT_SECONDS`).
    public var webhookTimeout: Duration = .seconds(15)
    /// One email's whole SMTP conversation (`TRIBUTARY_SMTP_TIMEOUT_SECONDS`).
    public var smtpTimeout: Duration = .seconds(60)
    /// The sender while `TRIBUTARY_SMTP_FROM` is not set. It must pass `EmailAddress.isValid`
    /// like any other (a bare `tributary@localhost` did not: `TRIBUTARY_SMTP_URL` set alone made
    /// the configuration invalid).
    static let defaultSender = "tributary@localhost.localdomain"

    init(reader: ConfigReader, problems: inout [String]) {
        if let url = reader.string(forKey: "tributary.smtp.url", isSecret: true), !url.isEmpty {
            do {
                smtp = try SMTPSettings(
                    url: url,
                    from: reader.string(forKey: "tributary.smtp.from") ?? Self.defaultSender,
                    caFile: reader.string(forKey: "tributary.smtp.ca.file")
                )
            } catch {
                problems.append("TRIBUTARY_SMTP_URL / TRIBUTARY_SMTP_FROM: \(error.message)")
            }
        }
        pollInterval = .milliseconds(reader.wholeNumber("TRIBUTARY_OUTBOX_INTERVAL_MS", 10...600_000, default: 1000, problems: &problems))
        concurrency = reader.wholeNumber("TRIBUTARY_OUTBOX_CONCURRENCY", 1...256, default: concurrency, problems: &problems)
        webhookTimeout = .seconds(reader.wholeNumber("TRIBUTARY_WEBHOOK_TIMEOUT_SECONDS", 1...60, default: 15, problems: &problems))
        smtpTimeout = .seconds(reader.wholeNumber("TRIBUTARY_SMTP_TIMEOUT_SECONDS", 1...600, default: 60, problems: &problems))
    }

    /// What `/readyz` says about email.
    var emailReadiness: String {
        if let smtp { return "sending through \(smtp)" }
        return "not configured: TRIBUTARY_SMTP_URL is not set, so alert emails wait in the outbox"
    }
}
