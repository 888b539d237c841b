import Foundation
import TributaryConnectors

/// Sends one message through libcurl, on a thread of its own: curl_easy_perform blocks for as long
/// as the SMTP conversation lasts (up to `timeout`), which must never hold a NIO event loop or a
/// thread of the cooperative pool.
struct SMTPMailer: Sendable {
    let settings: SMTPSettings
    let timeout: Duration

    init(settings: SMTPSettings, timeout: Duration = .seconds(60)) {
        self.settings = settings
        self.timeout = timeout
    }

    func send(_ message: EmailMessage) async throws(MailError) {
        let bad = message.to.filter { !EmailAddress.isValid($0) }
        guard bad.isEmpty, !message.to.isEmpty else {
            throw MailError(message: "the message has \(message.to.isEmpty ? "no recipient" : "an invalid recipient")", retryable: false)
        }
        let cancel = CancelFlag()
        let transfer = SMTPTransfer(settings: settings, recipients: message.to, bytes: message.mime(), timeout: timeout, cancel: cancel)
        // A cancelled task (graceful shutdown) ends the conversation at libcurl's next progress call
        // rather than after the whole timeout.
        let result: Result<Void, MailError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: transfer.perform()) }
                thread.name = "tributary-smtp"
                thread.start()
            }
        } onCancel: {
            cancel.raise()
        }
        try result.get()
    }
}
