/// What a receiver did with one delivery. `body` is the first KiB of its answer (lossy UTF-8);
/// `message` says what went wrong in words fit for a tenant and a log line, never a secret.
enum WebhookOutcome: Sendable, Equatable {
    /// A 2xx answer.
    case delivered(status: Int, body: String)
    /// 410 Gone: the endpoint asks to be disabled.
    case gone(status: Int, body: String)
    /// Any other answer (`status` set; a 3xx is one, never followed), or none at all: a timeout,
    /// a connection error, an address the egress policy refuses (`status` nil).
    case failed(status: Int?, message: String, body: String)
}
