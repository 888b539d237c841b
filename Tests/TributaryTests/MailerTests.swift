import Foundation
import Testing

@testable import Tributary

/// Alert emails through the real mailer (libcurl) into a real SMTP server (aiosmtpd), read back
/// the way a mail client reads them (Python's `email` package).
@Suite("Mail: alert emails over SMTP")
struct MailerTests {
    static let from = "alerts@tributary.test"
    static let recipients = ["ops@acme.test", "cto@acme.test"]
    static let raisedAt = Date(timeIntervalSince1970: 1_795_183_391)  // 2026-11-20 14:03:11 UTC
    static let alertID = UUID(uuidString: "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b") ?? UUID()
    static let integrationID = UUID(uuidString: "0b8e2f4c-1d3a-4b5c-9e6f-7a8b9c0d1e2f") ?? UUID()
    static let runID = UUID(uuidString: "a3c5e7f9-2b4d-4f6a-8c0e-1d3f5a7b9c2e") ?? UUID()

    /// A data spike on Main Klaviyo's profiles: 6,000 against a baseline of 300, after 13 quiet days.
    static func spike(name: String = "Main Klaviyo", tenant: String = "Acme Outdoor") -> AlertEmailContent {
        let usual: [Int64] = [280, 310, 295, 0, 320, 300, 305, 290, 315, 300, 298, 0, 310]
        var volume = usual.enumerated().map { DailyVolume(date: "2026-11-\(String(format: "%02d", $0.offset + 7))", records: $0.element) }
        volume.append(DailyVolume(date: "2026-11-20", records: 6_000))
        return AlertEmailContent(
            kind: .dataSpike,
            alertID: alertID,
            tenantName: tenant,
            integrationName: name,
            integrationID: integrationID,
            provider: "klaviyo",
            stream: "profiles",
            observed: 6_000,
            baseline: 300,
            threshold: 900,
            runID: runID,
            raisedAt: raisedAt,
            paused: false,
            error: nil,
            volume: volume
        )
    }

    static func message(_ content: AlertEmailContent = MailerTests.spike(), to: [String] = MailerTests.recipients) -> EmailMessage {
        AlertEmail.compose(content, from: from, to: to, messageID: "<\(alertID.uuidString.lowercased())@tributary.test>")
    }

    static func mailer(_ url: String, caFile: String? = nil, timeout: Duration = .seconds(20)) throws -> SMTPMailer {
        SMTPMailer(settings: try SMTPSettings(url: url, from: from, caFile: caFile), timeout: timeout)
    }

    /// Sends `message` and answers the MailError it failed with (nil when it was sent).
    static func failure(_ mailer: SMTPMailer, _ message: EmailMessage) async -> MailError? {
        do throws(MailError) {
            try await mailer.send(message)
            return nil
        } catch {
            return error
        }
    }

    @Test("a composed data-spike email arrives with its envelope, headers, numbers and chart")
    func spikeEmailArrives() async throws {
        let sink = try await SMTPSink.start()
        defer { Task { await sink.stop() } }
        try await Self.mailer(sink.url).send(Self.message())
        let received = try await sink.waitForMessages(count: 1, timeout: .seconds(10))
        #expect(received.count == 1)
        let mail = try #require(received.first)
        if let path = ProcessInfo.processInfo.environment["TRIBUTARY_EMAIL_SAMPLE_OUT"] {
            try Data(mail.data.utf8).write(to: URL(fileURLWithPath: path))
        }
        #expect(mail.mailFrom == Self.from)
        #expect(mail.recipients == Self.recipients)

        let parsed = try await ParsedMail(mail.data)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.bareLineFeeds == 0)
        #expect(parsed.longestLine <= 78)
        #expect(parsed.header("Subject") == ["Data spike on Main Klaviyo: profiles 6,000 vs 300"])
        #expect(parsed.header("Message-ID") == ["<\(Self.alertID.uuidString.lowercased())@tributary.test>"])
        #expect(parsed.header("Date") == ["Fri, 20 Nov 2026 14:03:11 +0000"])
        #expect(parsed.header("Auto-Submitted") == ["auto-generated"])
        #expect(parsed.header("MIME-Version") == ["1.0"])
        #expect(parsed.header("To") == ["ops@acme.test, cto@acme.test"])
        #expect(parsed.contentType == "multipart/alternative")
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(parsed.parts.allSatisfy { $0.charset == "utf-8" })

        let text = try #require(parsed.part("text/plain")).body
        for expected in [
            "Acme Outdoor", "Main Klaviyo", Self.integrationID.uuidString.lowercased(), "klaviyo", "profiles", "6,000", "300", "900",
            Self.runID.uuidString.lowercased(), "2026-11-20 14:03:11 UTC", "Nothing was paused", "bulk import",
        ] {
            #expect(text.contains(expected), "text part lacks \(expected)")
        }
        let days = text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("  2026-11-") }
        #expect(days.count == 14)
        #expect(days.last?.contains("6,000") == true && days.last?.contains("<-- day of the alert") == true)
        #expect(days.filter { $0.contains("day of the alert") }.count == 1)
        #expect(days.first?.hasPrefix("  2026-11-07") == true && days.first?.contains("280") == true)

        let html = try #require(parsed.part("text/html")).body
        for expected in ["Acme Outdoor", "Main Klaviyo", "6,000", "300", "900", Self.runID.uuidString.lowercased(), "bulk import"] {
            #expect(html.contains(expected), "HTML part lacks \(expected)")
        }
        // 14 bars, one per day, the alert day's in the accent colour; no image, SVG or style block.
        #expect(html.components(separatedBy: "title=\"2026-11-").count - 1 == 14)
        #expect(html.contains("title=\"2026-11-20: 6,000\""))
        #expect(html.components(separatedBy: "background-color:\(AlertEmailHTML.accent(.dataSpike));").count - 1 == 1)
        for absent in ["<svg", "<img", "<style", "<script", "data:"] {
            #expect(!html.lowercased().contains(absent), "HTML part contains \(absent)")
        }
    }

    @Test("each kind names itself and the integration in the subject", arguments: AlertKind.allCases)
    func subjects(kind: AlertKind) {
        var content = Self.spike()
        content.kind = kind
        switch kind {
        case .dataSpike: break
        case .dailyLimitExceeded: (content.stream, content.observed, content.threshold) = (nil, 12_000, 10_000)
        case .syncFailures: (content.stream, content.observed, content.threshold, content.error) = (nil, 3, 3, "HTTP 503 from klaviyo")
        case .reauthorizationRequired: (content.stream, content.observed, content.threshold) = (nil, nil, nil)
        }
        let message = Self.message(content)
        let expected: [AlertKind: String] = [
            .dataSpike: "Data spike on Main Klaviyo: profiles 6,000 vs 300",
            .dailyLimitExceeded: "Daily limit exceeded on Main Klaviyo: 12,000 records today (limit 10,000)",
            .syncFailures: "Sync failing on Main Klaviyo: 3 failures in a row",
            .reauthorizationRequired: "Reconnect Main Klaviyo: the provider refused its refresh token",
        ]
        #expect(message.subject == expected[kind])
        #expect(message.text.contains("What to do next") && message.html.contains("What to do next"))
        if kind == .syncFailures { #expect(message.text.contains("HTTP 503 from klaviyo") && message.html.contains("HTTP 503 from klaviyo")) }
        if kind == .dailyLimitExceeded {
            content.paused = true
            let paused = Self.message(content)
            #expect(paused.text.contains("Tributary paused the integration") && paused.text.contains("{\"status\":\"active\"}"))
            #expect(paused.text.contains("alert-settings"))
        }
    }

    @Test("a non-ASCII name is RFC 2047 encoded and decodes back; HTML in names is escaped")
    func nonASCIIAndEscaping() async throws {
        let name = "Café <b>Straße</b> & 北京 \"Ops\" — a name long enough to need more than one encoded word"
        let sink = try await SMTPSink.start()
        defer { Task { await sink.stop() } }
        try await Self.mailer(sink.url).send(Self.message(Self.spike(name: name, tenant: "<script>alert(1)</script>")))
        let mail = try #require(try await sink.waitForMessages(count: 1, timeout: .seconds(10)).first)
        #expect(!mail.data.contains("Café"))  // 8-bit never goes on the wire as is
        let parsed = try await ParsedMail(mail.data)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.longestLine <= 78)
        #expect(parsed.header("Subject") == ["Data spike on \(name): profiles 6,000 vs 300"])
        let html = try #require(parsed.part("text/html")).body
        #expect(!html.contains("<b>Straße</b>") && !html.contains("<script>"))
        #expect(html.contains("Café &lt;b&gt;Straße&lt;/b&gt; &amp; 北京 &quot;Ops&quot;"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(try #require(parsed.part("text/plain")).body.contains(name))
    }

    @Test("CR/LF in a tenant-chosen integration name never makes a header or a recipient")
    func headerInjection() async throws {
        let name = "Main\r\nBcc: victim@evil.test\r\nX-Injected: yes\r\n\r\n<html>owned"
        let sink = try await SMTPSink.start()
        defer { Task { await sink.stop() } }
        try await Self.mailer(sink.url).send(Self.message(Self.spike(name: name)))
        let mail = try #require(try await sink.waitForMessages(count: 1, timeout: .seconds(10)).first)
        #expect(mail.recipients == Self.recipients)
        let parsed = try await ParsedMail(mail.data)
        #expect(parsed.header("Bcc").isEmpty && parsed.header("X-Injected").isEmpty)
        let subject = try #require(parsed.header("Subject").first)
        #expect(!subject.contains("\r") && !subject.contains("\n"))
        #expect(subject.hasPrefix("Data spike on Main Bcc: victim@evil.test X-Injected: yes <html>owned"))
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
        // A name that looks like an encoded word stays the literal text it is.
        let lookalike = try await ParsedMail(String(decoding: Self.message(Self.spike(name: "=?utf-8?B?U3Bvb2Y=?=")).mime(), as: UTF8.self))
        #expect(lookalike.header("Subject") == ["Data spike on =?utf-8?B?U3Bvb2Y=?=: profiles 6,000 vs 300"])
        // A message id or address smuggling a line break is flattened the same way.
        var crafted = Self.message()
        crafted.messageID = "<x@y>\r\nBcc: victim@evil.test"
        let bytes = String(decoding: crafted.mime(), as: UTF8.self)
        #expect(!bytes.contains("\r\nBcc:"))
    }

    @Test("SMTP down: a retryable MailError that says where it tried")
    func smtpDown() async throws {
        let port = try freePort()
        let started = ContinuousClock.now
        let error = try #require(await Self.failure(try Self.mailer("smtp://127.0.0.1:\(port)"), Self.message()))
        #expect(error.retryable)
        #expect(error.message.contains("smtp://127.0.0.1:\(port)"))
        #expect(error.message.lowercased().contains("connect"))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    /// A TCP port that accepts connections (the kernel completes them) but never says a word.
    static func silentListener() throws -> (socket: Int32, port: Int) {
        let port = try freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw TestSetupError("cannot listen on \(port)")
        }
        return (fd, port)
    }

    @Test("a server that never answers: the timeout ends it, retryable")
    func silentServerTimesOut() async throws {
        let silent = try Self.silentListener()
        defer { close(silent.socket) }
        let started = ContinuousClock.now
        let error = try #require(await Self.failure(try Self.mailer("smtp://127.0.0.1:\(silent.port)", timeout: .seconds(1)), Self.message()))
        #expect(error.retryable)
        #expect(error.message.lowercased().contains("timeout") || error.message.lowercased().contains("timed out"), "\(error.message)")
        #expect(ContinuousClock.now - started < .seconds(20))  // generous: the suite runs in parallel on 2 cores
    }

    @Test("cancelling the sending task (graceful shutdown) ends the conversation at once")
    func cancelledSend() async throws {
        let silent = try Self.silentListener()
        defer { close(silent.socket) }
        let mailer = try Self.mailer("smtp://127.0.0.1:\(silent.port)", timeout: .seconds(60))
        let started = ContinuousClock.now
        let task = Task { await Self.failure(mailer, Self.message()) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = try #require(await task.value)
        #expect(error.retryable && error.message.contains("cancelled"), "\(error.message)")
        #expect(ContinuousClock.now - started < .seconds(20))  // far below the 60 s timeout, generous for a loaded machine
    }

    @Test("credentials in an smtp:// URL and a server without STARTTLS: refused, no AUTH in clear")
    func noPasswordInClear() async throws {
        let sink = try await SMTPSink.start(authInClear: true)
        defer { Task { await sink.stop() } }
        let mailer = try Self.mailer("smtp://alerts:S3cret-pw@127.0.0.1:\(sink.port)")
        let error = try #require(await Self.failure(mailer, Self.message()))
        #expect(!error.message.contains("S3cret-pw"))
        #expect(error.message.contains("smtp://alerts:***@127.0.0.1:\(sink.port)"))
        #expect(error.retryable)  // the operator fixes the relay; waiting mail should go then
        #expect(sink.commands().contains("EHLO"))
        #expect(!sink.commands().contains { $0.hasPrefix("AUTH") })
        #expect(try sink.messages().isEmpty)
    }

    @Test("credentials over STARTTLS: AUTH only after TLS; a wrong password is a clean error")
    func authenticatedOverSTARTTLS() async throws {
        let password = "p@ss:w/rd%"
        let sink = try await SMTPSink.start(requireAuth: (user: "alerts", password: password))
        defer { Task { await sink.stop() } }
        let ca = try #require(sink.certificatePath)
        let url = "smtp://alerts:p%40ss%3Aw%2Frd%25@127.0.0.1:\(sink.port)"
        try await Self.mailer(url, caFile: ca).send(Self.message())
        let mail = try #require(try await sink.waitForMessages(count: 1, timeout: .seconds(10)).first)
        #expect(mail.recipients == Self.recipients)
        let commands = sink.commands()
        let tls = try #require(commands.firstIndex(of: "STARTTLS"))
        let auth = try #require(commands.firstIndex { $0.hasPrefix("AUTH") })
        #expect(tls < auth && commands[auth].hasSuffix("(over TLS)"))

        let wrong = try #require(await Self.failure(try Self.mailer("smtp://alerts:Wr0ng-pw@127.0.0.1:\(sink.port)", caFile: ca), Self.message()))
        #expect(!wrong.message.contains("Wr0ng-pw"))
        #expect(wrong.message.contains("535"))
        #expect(wrong.retryable)
        // Without the sink's CA the certificate is not trusted: nothing is sent, no AUTH.
        let before = sink.commands().filter { $0.hasPrefix("AUTH") }.count
        let untrusted = try #require(await Self.failure(try Self.mailer(url), Self.message()))
        #expect(!untrusted.message.contains(password) && !untrusted.message.contains("p%40ss"))
        #expect(sink.commands().filter { $0.hasPrefix("AUTH") }.count == before)
        #expect(try sink.messages().count == 1)
    }

    @Test("a recipient refused with 5xx: permanent when all are, the others still get it when one is")
    func refusedRecipients() async throws {
        let sink = try await SMTPSink.start()
        defer { Task { await sink.stop() } }
        let mailer = try Self.mailer(sink.url)
        let error = try #require(await Self.failure(mailer, Self.message(to: ["refused@acme.test"])))
        #expect(!error.retryable)
        #expect(error.message.contains("550"))
        try await mailer.send(Self.message(to: ["refused@acme.test", "ops@acme.test"]))
        let received = try await sink.waitForMessages(count: 1, timeout: .seconds(10))
        #expect(received.map(\.recipients) == [["ops@acme.test"]])
        let invalid = try #require(await Self.failure(mailer, Self.message(to: ["ops@acme.test\r\nRCPT TO:<x@evil.test>"])))
        #expect(!invalid.retryable)
    }

    @Test("the stopped sink's port serves again: SMTP down, then up")
    func sinkRestartsOnItsPort() async throws {
        let first = try await SMTPSink.start()
        let port = first.port
        await first.stop()
        let mailer = try Self.mailer("smtp://127.0.0.1:\(port)")
        #expect(await Self.failure(mailer, Self.message())?.retryable == true)
        let second = try await SMTPSink.start(port: port)
        defer { Task { await second.stop() } }
        try await mailer.send(Self.message())
        #expect(try await second.waitForMessages(count: 1, timeout: .seconds(10)).count == 1)
    }

    @Test("settings: scheme, host, port, credentials and sender checked; the password never shown")
    func settings() throws {
        let good = try SMTPSettings(url: "smtp://mailer:S3cret-pw@mail.example.com:587", from: "alerts@example.com")
        #expect(good.description == "smtp://mailer:***@mail.example.com:587")
        #expect(!"\(good)".contains("S3cret-pw"))
        #expect(good.username == "mailer" && good.password == "S3cret-pw" && good.hasCredentials)
        #expect(good.connectURL == "smtp://mail.example.com:587")
        #expect(good.domain == "example.com")
        #expect(try SMTPSettings(url: "smtp://relay.internal", from: "a@b.example").port == 25)
        // TRIBUTARY_SMTP_URL alone: the default sender is taken.
        #expect(try SMTPSettings(url: "smtp://relay.internal", from: AlertingSettings.defaultSender).port == 25)
        #expect(try SMTPSettings(url: "smtps://u:p@smtp.example.com", from: "a@b.example").port == 465)
        #expect(try SMTPSettings(url: "smtp://relay.internal", from: "a@b.example").description == "smtp://relay.internal:25")

        let refused: [(url: String, from: String, says: String)] = [
            ("http://mail.example.com", "a@b.example", "smtp:// or smtps://"),
            ("ftp://u:S3cret-pw@mail.example.com", "a@b.example", "smtp:// or smtps://"),
            ("smtp://", "a@b.example", "no host"),
            ("smtp://u:S3cret-pw@", "a@b.example", "no host"),
            ("mail.example.com:25", "a@b.example", "smtp:// or smtps://"),
            ("smtp://u:S3cret-pw@mail.example.com:99999", "a@b.example", "TRIBUTARY_SMTP_URL"),
            ("smtp://u:S3cret-pw@mail.example.com/path?x=1", "a@b.example", "no path"),
            ("smtp://u@mail.example.com", "a@b.example", "both a user name and a password"),
            ("smtp://u:S3cret-pw@mail exam ple.com", "a@b.example", "TRIBUTARY_SMTP_URL"),
            ("smtp://mail.example.com", "not an address", "TRIBUTARY_SMTP_FROM"),
            ("smtp://mail.example.com", "Alerts <a@b.example>", "TRIBUTARY_SMTP_FROM"),
            ("smtp://mail.example.com", "a@b.example\r\nRCPT TO:<x@evil.test>", "TRIBUTARY_SMTP_FROM"),
        ]
        for (url, from, says) in refused {
            let result = Result { () throws(SMTPSettingsError) in try SMTPSettings(url: url, from: from) }
            guard case .failure(let error) = result else {
                Issue.record("\(url) with \(from) was accepted")
                continue
            }
            #expect(error.message.contains(says), "\(url): \(error.message)")
            #expect(!error.message.contains("S3cret-pw"), "\(url): \(error.message)")
        }
    }

    @Test("MIME: CRLF only, quoted-printable lines within 76, headers within 78 even for huge names")
    func mimeShape() async throws {
        let name = String(repeating: "Ünïcödé naming ", count: 300)
        let bytes = Self.message(Self.spike(name: name, tenant: String(repeating: "x", count: 5_000))).mime()
        let raw = String(decoding: bytes, as: UTF8.self)
        #expect(bytes.allSatisfy { $0 < 128 })
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        let parsed = try await ParsedMail(raw)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.longestLine <= 78)
        #expect(parsed.header("Subject").first?.hasPrefix("Data spike on Ünïcödé naming") == true)
        #expect(try #require(parsed.part("text/plain")).body.contains(String(repeating: "x", count: 5_000)))
    }

    @Test("numbers read the same on every machine")
    func formatting() {
        #expect(AlertFormat.count(0) == "0")
        #expect(AlertFormat.count(999) == "999")
        #expect(AlertFormat.count(1_000) == "1,000")
        #expect(AlertFormat.count(1_234_567) == "1,234,567")
        #expect(AlertFormat.count(-12_000) == "-12,000")
        #expect(AlertFormat.number(300) == "300")
        #expect(AlertFormat.number(312.5) == "312.5")
        #expect(AlertFormat.number(1_234.56) == "1,234.6")
        #expect(AlertFormat.number(.nan) == "–")
        #expect(AlertEmailChart.compact(950) == "950")
        #expect(AlertEmailChart.compact(6_000) == "6k")
        #expect(AlertEmailChart.compact(12_550) == "12.5k")
        #expect(AlertEmailChart.compact(3_400_000) == "3.4M")
        #expect(MIME.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }
}
