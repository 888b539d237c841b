import Foundation

/// One email, ready to send.
struct EmailMessage: Sendable, Equatable {
    var from: String
    var to: [String]
    var subject: String
    var text: String
    var html: String
    /// "<…@domain>"
    var messageID: String
    var date: Date

    /// RFC 5322 bytes with CRLF line ends: From, To, Subject (RFC 2047 encoded when not ASCII),
    /// Date (RFC 5322 format), Message-ID, MIME-Version, Auto-Submitted: auto-generated,
    /// multipart/alternative with text/plain then text/html, both UTF-8, quoted-printable or base64
    /// (lines ≤ 76/998). No header injection: CR/LF in any header value is removed.
    func mime() -> [UInt8] {
        let boundary = "=_tributary_" + String(MIME.token(messageID).prefix(48))
        var lines = [
            "From: Tributary <\(MIME.headerValue(from))>",
            MIME.addressList(name: "To", to),
            MIME.encodedHeader(name: "Subject", value: MIME.headerValue(subject)),
            "Date: \(MIME.rfc5322Date(date))",
            "Message-ID: \(MIME.headerValue(messageID))",
            "MIME-Version: 1.0",
            // RFC 3834, and Exchange's spelling of the same wish: no vacation replies to alerts.
            "Auto-Submitted: auto-generated",
            "X-Auto-Response-Suppress: All",
            "Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"",
            "",
            "This is a multipart message in MIME format.",
        ]
        for (subtype, body) in [("plain", text), ("html", html)] {
            lines += [
                "",
                "--\(boundary)",
                "Content-Type: text/\(subtype); charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable",
                "",
                MIME.quotedPrintable(body),
            ]
        }
        lines += ["", "--\(boundary)--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }
}
