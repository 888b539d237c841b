import Foundation

/// When the outbox tries a delivery again, and for how long it keeps trying.
enum DeliverySchedule {
    /// Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    static let webhookDelays: [Duration] = [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000),
        .seconds(36_000), .seconds(50_400), .seconds(72_000), .seconds(86_400),
    ]
    /// Email doubles from 5 s up to an hour between tries.
    static let emailFirstDelay = Duration.seconds(5)
    static let emailMaxDelay = Duration.seconds(3600)

    static let emailGivesUpAfter = Duration.seconds(24 * 3600)
    static let webhookGivesUpAfter = Duration.seconds(3 * 24 * 3600)

    /// The wait after failed try number `attempt` (1 is the first), with ±20 % jitter so that
    /// deliveries failed together do not come back together.
    static func delay<G: RandomNumberGenerator>(after attempt: Int, channel: OutboxChannel, using generator: inout G) -> Duration {
        let base: Duration
        switch channel {
        case .webhook:
            base = webhookDelays[min(max(attempt, 1), webhookDelays.count) - 1]
        case .email:
            let doublings = min(max(attempt - 1, 0), 20)
            base = min(emailFirstDelay * (1 << doublings), emailMaxDelay)
        }
        return base * Double.random(in: 0.8...1.2, using: &generator)
    }

    static func givesUpAfter(_ channel: OutboxChannel) -> Duration {
        channel == .email ? emailGivesUpAfter : webhookGivesUpAfter
    }
}

/// How an outbox row is delivered.
enum OutboxChannel: String, Sendable, Codable {
    case email, webhook
}
