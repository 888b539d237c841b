/// Why a message was not sent; `message` carries no password; `retryable` false for e.g. a
/// recipient the server refuses permanently (5xx) — true for connection errors, timeouts, 4xx.
struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    var retryable: Bool

    var description: String { message }
}
