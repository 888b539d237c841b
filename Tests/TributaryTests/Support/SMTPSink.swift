import Foundation

/// One message as the SMTP server received it: the envelope and the raw data.
struct ReceivedMail: Sendable, Decodable {
    var mailFrom: String
    var recipients: [String]
    var data: String

    enum CodingKeys: String, CodingKey {
        case mailFrom = "mail_from"
        case recipients = "rcpt_tos"
        case data
    }
}

/// A real SMTP server (python3-aiosmtpd, `smtp_sink.py` next to this file) as a child process on
/// 127.0.0.1, writing every message it accepts to a directory the test reads.
final class SMTPSink: Sendable {
    let port: Int
    let directory: URL
    /// The PEM certificate of the STARTTLS the sink offers (trust it with `SMTPSettings.caFile`), or nil.
    let certificatePath: String?
    private let process: ChildProcess

    var url: String { "smtp://127.0.0.1:\(port)" }

    private init(port: Int, directory: URL, certificatePath: String?, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.certificatePath = certificatePath
        self.process = process
    }

    /// Starts a sink at `port` (a free one when nil; the port of a stopped sink works too).
    /// `requireAuth`: AUTH with that user and password before MAIL. `startTLS` (default: when
    /// `requireAuth`): STARTTLS with a fresh self-signed certificate for 127.0.0.1.
    /// `authInClear`: AUTH advertised and accepted without TLS, as a careless server would.
    static func start(
        port: Int? = nil,
        requireAuth: (user: String, password: String)? = nil,
        startTLS: Bool? = nil,
        authInClear: Bool = false
    ) async throws -> SMTPSink {
        // A free port can be taken by another test between the check and the bind: try another.
        for attempt in 1... {
            do {
                return try await launch(port: port ?? freePort(), requireAuth: requireAuth, startTLS: startTLS, authInClear: authInClear)
            } catch  where port == nil && attempt < 3 {
                continue
            }
        }
        throw TestSetupError("not reached")
    }

    private static func launch(
        port: Int,
        requireAuth: (user: String, password: String)?,
        startTLS: Bool?,
        authInClear: Bool
    ) async throws -> SMTPSink {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = [script.path, "--port", String(port), "--dir", directory.path]
        if let requireAuth { arguments += ["--user", requireAuth.user, "--password", requireAuth.password] }
        if authInClear { arguments.append("--auth-in-clear") }
        var certificatePath: String?
        if startTLS ?? (requireAuth != nil && !authInClear) {
            certificatePath = try await makeCertificate(in: directory)
            arguments += ["--cert", directory.appendingPathComponent("cert.pem").path, "--key", directory.appendingPathComponent("key.pem").path]
        }
        let process = try await ChildProcess.launch(python, arguments)
        let sink = SMTPSink(port: port, directory: directory, certificatePath: certificatePath, process: process)
        let ready = directory.appendingPathComponent("ready")
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: ready.path) { return sink }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await sink.stop()
        throw TestSetupError("the SMTP sink on port \(port) did not start: \(await process.finish().output)")
    }

    /// Every message received so far, in arrival order.
    func messages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            try JSONDecoder().decode(ReceivedMail.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
        }
    }

    /// Polls until at least `count` messages have arrived; throws when `timeout` passes first.
    func waitForMessages(count: Int, timeout: Duration) async throws -> [ReceivedMail] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let received = try messages()
            if received.count >= count { return received }
            guard ContinuousClock.now < deadline else {
                throw TestSetupError("the SMTP sink got \(received.count) of \(count) messages in \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The commands that matter for security, in order: "EHLO", "STARTTLS", "AUTH PLAIN (over TLS)"…
    func commands() -> [String] {
        let log = (try? String(contentsOf: directory.appendingPathComponent("commands.log"), encoding: .utf8)) ?? ""
        return log.split(separator: "\n").map(String.init)
    }

    /// Ends the server (SIGTERM to its pid, SIGKILL after 5 s) and waits for it to be gone.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        _ = await process.finish()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    private static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_sink.py")
    }

    /// Debian's python3 (where python3-aiosmtpd lives), not whatever python3 comes first on PATH.
    static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/local/bin/python3"
    }

    /// A self-signed certificate for 127.0.0.1 (openssl), valid two days.
    private static func makeCertificate(in directory: URL) async throws -> String {
        let openssl = try await ChildProcess.launch(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", directory.appendingPathComponent("key.pem").path,
                "-out", directory.appendingPathComponent("cert.pem").path,
            ]
        )
        guard await openssl.finish().status == 0 else { throw TestSetupError("openssl could not make a certificate") }
        return directory.appendingPathComponent("cert.pem").path
    }
}
