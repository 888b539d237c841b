/// Why `TRIBUTARY_SMTP_URL` or `TRIBUTARY_SMTP_FROM` was refused; `message` never holds the password.
struct SMTPSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String

    var description: String { message }
}
