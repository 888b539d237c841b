import AsyncHTTPClient
import Foundation

/// The `tributary` executable built next to the test bundle, run as a real child process.
struct ChildProcess {
    static var binary: URL {
        if let configured = ProcessInfo.processInfo.environment["TRIBUTARY_BINARY"] {
            return URL(fileURLWithPath: configured)
        }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tributary")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/tributary")
    }

    let process: Process
    let output: Pipe

    /// Starts `tributary <arguments>` with exactly `environment` (nothing inherited but PATH).
    static func start(_ arguments: [String], environment: [String: String]) throws -> ChildProcess {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { own, _ in own }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return ChildProcess(process: process, output: output)
    }

    /// Waits for the process to exit and returns its status and everything it printed.
    /// The blocking read and wait run on a thread of their own: on the two threads of Swift's
    /// cooperative pool they could starve the tests' own servers a child is waiting on.
    func finish() async -> (status: Int32, output: String) {
        nonisolated(unsafe) let (process, output) = (self.process, self.output)
        return await withCheckedContinuation { continuation in
            Thread {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }.start()
        }
    }

    static func run(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await start(arguments, environment: environment).finish()
    }

    /// What a `tributary` command reads from its environment, for one on `database`; commands that
    /// do not serve the API run with `adminToken: nil`, as they would in production.
    static func environment(
        _ database: TestDatabase,
        keys: String = TestApp.key1,
        adminToken: String? = TestApp.adminToken,
        logLevel: String = "info",
        extra: [String: String] = [:]
    ) -> [String: String] {
        var environment = [
            "DATABASE_URL": TestApp.databaseURLString(database.url),
            "TRIBUTARY_ENCRYPTION_KEYS": keys,
            "LOG_LEVEL": logLevel,
            "TRIBUTARY_EGRESS_ALLOW": TestApp.egressAllow,
        ]
        environment["TRIBUTARY_ADMIN_TOKEN"] = adminToken
        return environment.merging(extra) { _, new in new }
    }
}

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { pointer in
        try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            guard bind(socket, raw, length) == 0, getsockname(socket, raw, &length) == 0 else {
                throw TestSetupError("cannot find a free port")
            }
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The status of a GET over a real connection to a child process.
func httpStatus(_ url: String) async throws -> Int {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
    return Int(response.status.code)
}

extension ChildProcess {
    /// `tributary serve` (and its worker when `worker`) on 127.0.0.1 at a free port, polled until
    /// `readyPath` answers 200 or `attempts` polls 100 ms apart have passed (`ready` says which).
    static func startServer(
        _ database: TestDatabase,
        worker: Bool = false,
        readyPath: String = "/healthz",
        logLevel: String = "info",
        extra: [String: String] = [:],
        attempts: Int = 100
    ) async throws -> (child: ChildProcess, port: Int, ready: Bool) {
        let port = try freePort()
        let environment = Self.environment(
            database,
            logLevel: logLevel,
            extra: ["PORT": String(port), "HOST": "127.0.0.1"].merging(extra) { _, given in given }
        )
        let child = try start(worker ? ["serve", "--worker"] : ["serve"], environment: environment)
        var ready = false
        for _ in 0..<attempts where !ready {
            try await Task.sleep(for: .milliseconds(100))
            ready = (try? await httpStatus("http://127.0.0.1:\(port)\(readyPath)")) == 200
        }
        return (child, port, ready)
    }
}
