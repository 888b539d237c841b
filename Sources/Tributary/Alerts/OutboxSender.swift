import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The worker's outbox sender: delivers due alert emails and webhook events, records each
/// outcome, and retries on `DeliverySchedule` until the row's give-up time. Any number of senders
/// may run on one database: each row is claimed by one of them at a time.
struct OutboxSender: Service {
    let store: Store
    let vault: CredentialVault
    let webhooks: WebhookDelivery
    let settings: AlertingSettings
    let startup: Startup
    let logger: Logger
    private let mailer: SMTPMailer?

    /// Twice as long as any one delivery may take, and then some: a sender that died
    /// mid-delivery leaves its rows due again after this, and a live one is long done by then.
    var lease: Duration { max(settings.smtpTimeout, settings.webhookTimeout) * 2 + .seconds(10) }

    init(store: Store, vault: CredentialVault, webhooks: WebhookDelivery, settings: AlertingSettings, startup: Startup, logger: Logger) {
        self.store = store
        self.vault = vault
        self.webhooks = webhooks
        self.settings = settings
        self.startup = startup
        self.logger = logger
        self.mailer = settings.smtp.map { SMTPMailer(settings: $0, timeout: settings.smtpTimeout) }
    }

    func run() async throws {
        try await startup.ready()
        if settings.smtp == nil {
            logger.warning("TRIBUTARY_SMTP_URL is not set: alert emails wait in the outbox until it is")
        }
        // A rolling pool: a slot freed by one delivery is filled at once, so one slow receiver
        // holds one slot for its timeout, never a whole round of everybody's deliveries.
        let free = NIOLockedValueBox(settings.concurrency)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let slots = free.withLockedValue { $0 }
                let items = slots > 0 ? await claim(upTo: slots) : []
                free.withLockedValue { $0 -= items.count }
                for item in items {
                    group.addTask {
                        await deliver(item)
                        free.withLockedValue { $0 += 1 }
                    }
                }
                guard items.isEmpty else { continue }
                // All slots busy: look again shortly. Nothing due: wait for the interval, which may
                // be minutes long (TRIBUTARY_OUTBOX_INTERVAL_MS); SIGTERM ends the wait.
                let wait = slots == 0 ? min(settings.pollInterval, .milliseconds(50)) : settings.pollInterval
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
        }
    }

    /// Claims up to `limit` due deliveries; none when the claim fails (it is tried again later).
    private func claim(upTo limit: Int) async -> [OutboxItem] {
        let channels: [OutboxChannel] = settings.smtp == nil ? [.webhook] : [.email, .webhook]
        do {
            return try await store.claimDeliveries(channels: channels, limit: limit, lease: lease)
        } catch {
            logger.warning("outbox: could not claim deliveries", metadata: ["error": "\(error)"])
            return []
        }
    }

    private func deliver(_ item: OutboxItem) async {
        let result =
            switch item.channel {
            case .email: await sendEmail(item)
            case .webhook: await sendWebhook(item)
            }
        var metadata: Logger.Metadata = ["outbox_id": "\(item.id.lowercased)", "channel": "\(item.channel.rawValue)", "attempt": "\(item.attempt)"]
        switch result {
        case .delivered: logger.info("outbox: delivered", metadata: metadata)
        case .retry(_, let error, _), .failed(let error, _):
            metadata["error"] = "\(error)"
            logger.warning("outbox: delivery failed", metadata: metadata)
        case .gone: logger.warning("outbox: webhook receiver answered 410; endpoint disabled", metadata: metadata)
        }
        do {
            try await store.recordDelivery(item, result)
        } catch {
            // The claim's lease runs out and the row is delivered again: at least once, never lost.
            logger.error("outbox: could not record a delivery", metadata: ["outbox_id": "\(item.id.lowercased)", "error": "\(error)"])
        }
    }

    private func retry(_ item: OutboxItem, _ error: String, status: Int? = nil) -> DeliveryResult {
        var generator = SystemRandomNumberGenerator()
        return .retry(after: DeliverySchedule.delay(after: item.attempt, channel: item.channel, using: &generator), error: error, status: status)
    }

    private func sendEmail(_ item: OutboxItem) async -> DeliveryResult {
        guard let mailer, let smtp = settings.smtp else { return retry(item, "TRIBUTARY_SMTP_URL is not set") }
        guard let alertID = item.alertID else { return .failed(error: "the outbox row names no alert", status: nil) }
        let content: AlertEmailContent?
        do {
            content = try await store.alertEmailContent(alertID: alertID)
        } catch {
            return retry(item, "could not read the alert: \(error)")
        }
        guard let content else { return .failed(error: "the alert no longer exists", status: nil) }
        // The same Message-ID on every try, so a server that got it twice can tell.
        let message = AlertEmail.compose(content, from: smtp.from, to: item.recipients, messageID: "<\(item.id.lowercased)@\(smtp.domain)>")
        do {
            try await mailer.send(message)
            return .delivered(status: nil)
        } catch {
            return error.retryable ? retry(item, error.message) : .failed(error: error.message, status: nil)
        }
    }

    private func sendWebhook(_ item: OutboxItem) async -> DeliveryResult {
        guard let webhookID = item.webhookID, let eventID = item.eventID, let body = item.body else {
            return .failed(error: "the outbox row names no webhook event", status: nil)
        }
        let target: WebhookTarget?
        do {
            target = try await store.webhookTarget(id: webhookID)
        } catch {
            return retry(item, "could not read the webhook: \(error)")
        }
        guard let target, target.enabled else { return .failed(error: "the endpoint is disabled", status: nil) }
        guard let secret = try? vault.openWebhookSecret(target) else {
            return .failed(error: "the endpoint's secret does not open with this server's keys", status: nil)
        }
        switch await webhooks.deliver(url: target.url, secret: secret, eventID: eventID, body: Array(body.utf8)) {
        case .delivered(let status, _): return .delivered(status: status)
        case .gone(let status, _): return .gone(status: status)
        case .failed(let status, let message, _): return retry(item, message, status: status)
        }
    }
}
