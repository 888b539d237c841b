// TEMPORARY: the interfaces two helpers are writing now; replaced by their files at merge.
import Crypto
import Foundation
import TributaryConnectors

struct EmailMessage: Sendable, Equatable {
    var from: String
    var to: [String]
    var subject: String
    var text: String
    var html: String
    var messageID: String
    var date: Date
    func mime() -> [UInt8] { [] }
}
struct DailyVolume: Sendable, Equatable {
    var date: String
    var records: Int64
}
struct AlertEmailContent: Sendable, Equatable {
    var kind: AlertKind
    var alertID: UUID
    var tenantName: String
    var integrationName: String
    var integrationID: UUID
    var provider: String
    var stream: String?
    var observed: Int64?
    var baseline: Double?
    var threshold: Double?
    var runID: UUID?
    var raisedAt: Date
    var paused: Bool
    var error: String?
    var volume: [DailyVolume]
}
enum AlertEmail {
    static func compose(_ content: AlertEmailContent, from: String, to: [String], messageID: String) -> EmailMessage {
        EmailMessage(from: from, to: to, subject: "", text: "", html: "", messageID: messageID, date: content.raisedAt)
    }
}
struct SMTPSettingsError: Error, Sendable, Equatable { var message: String }
struct SMTPSettings: Sendable, Equatable, CustomStringConvertible {
    init(url: String, from: String) throws(SMTPSettingsError) {
        self.from = from
        self.description = url
        self.domain = "x"
    }
    var from: String
    var description: String
    var domain: String
}
struct MailError: Error, Sendable, Equatable {
    var message: String
    var retryable: Bool
}
struct SMTPMailer: Sendable {
    init(settings: SMTPSettings, timeout: Duration = .seconds(60)) {}
    func send(_ message: EmailMessage) async throws(MailError) {}
}
