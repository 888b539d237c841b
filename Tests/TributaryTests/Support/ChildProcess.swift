import AsyncHTTPClient
import Foundation
import Logging
import Subprocess
import Synchronization
import SystemPackage

@testable import Tributary

/// The `tributary` executable built next to the test bundle, run as a real child process.
final class ChildProcess: Sendable {
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

    /// The child's process id, for signals.
    let processIdentifier: Int32
    private let ending: Task<Int32, Never>
    private let exited: ExitFlag
    /// The file the child's standard output and error both go to (unlinked: it goes with its last descriptor).
    private let output: FileDescriptor

    /// Starts `tributary <arguments>` with exactly `environment` (nothing inherited but PATH).
    static func start(_ arguments: [String], environment: [String: String]) async throws -> ChildProcess {
        let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        return try await launch(binary.path, arguments, environment: environment.merging(path) { own, _ in own })
    }

    /// Starts `executable` with `arguments`, `input` on its standard input, and its standard output
    /// and error written together to a file of its own. `environment` nil: the test process's own.
    ///
    /// Through swift-subprocess, never Foundation's `Process`: that one watches each child through a
    /// socket pair a child spawned at the same moment by another test may inherit, so a child's exit
    /// goes unseen until an unrelated one exits too, and parallel tests can wait on each other forever.
    /// swift-subprocess closes every other descriptor in the child and watches it through a pidfd.
    /// Input and output are files, not pipes, so the library reads and writes nothing for the child,
    /// and `ChildExit` watches the exit beside it.
    static func launch(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        input: [UInt8] = []
    ) async throws -> ChildProcess {
        let exited = ExitFlag()
        let (started, starting) = AsyncThrowingStream<Int32, any Error>.makeStream()
        var childEnvironment = Environment.inherit
        if let environment {
            var custom: [Environment.Key: String] = [:]
            for (key, value) in environment { custom[Environment.Key(stringLiteral: key)] = value }
            childEnvironment = .custom(custom)
        }
        let output = try anonymousFile()
        let given = try anonymousFile()
        defer { try? given.close() }  // the child has its own copy once it runs
        if !input.isEmpty {
            _ = try input.withUnsafeBytes { try given.writeAll($0) }
            _ = try given.seek(offset: 0, from: .start)
        }
        let ending = Task { [childEnvironment] () -> Int32 in
            defer { exited.set() }
            do {
                return try await ChildExit.guarded { running in
                    try await Subprocess.run(
                        .path(FilePath(executable)),
                        arguments: Arguments(arguments),
                        environment: childEnvironment,
                        input: .fileDescriptor(given, closeAfterSpawningProcess: false),
                        output: .fileDescriptor(output, closeAfterSpawningProcess: false),
                        error: .combinedWithOutput
                    ) { execution in
                        running(execution.processIdentifier.value)
                        starting.yield(execution.processIdentifier.value)
                        starting.finish()
                    }.terminationStatus.code
                } lost: { pid, status in
                    Logger(label: "tributary-test").warning(
                        "swift-subprocess did not report a child's exit; its status is taken from the kernel",
                        metadata: ["pid": "\(pid)", "executable": "\(executable)"]
                    )
                    return status?.code ?? -1
                }
            } catch {
                _ = try? output.writeAll(Array("\(error)".utf8))
                starting.finish(throwing: error)
                return -1
            }
        }
        var iterator = started.makeAsyncIterator()
        guard let pid = try await iterator.next() else { throw TestSetupError("\(executable) did not start") }
        return ChildProcess(processIdentifier: pid, ending: ending, exited: exited, output: output)
    }

    private init(processIdentifier: Int32, ending: Task<Int32, Never>, exited: ExitFlag, output: FileDescriptor) {
        self.processIdentifier = processIdentifier
        self.ending = ending
        self.exited = exited
        self.output = output
    }

    deinit { try? output.close() }

    /// Whether the child has not exited yet.
    var isRunning: Bool { !exited.isSet && ChildExit.peek(processIdentifier) == .running }

    /// Sends SIGTERM.
    func terminate() { kill(processIdentifier, SIGTERM) }

    /// Waits for the process to exit and returns its status (its exit code, or the signal that ended
    /// it) and everything it printed.
    func finish() async -> (status: Int32, output: String) {
        (await ending.value, writtenOutput())
    }

    /// Everything the child wrote so far.
    private func writtenOutput() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = (try? chunk.withUnsafeMutableBytes { try output.read(fromAbsoluteOffset: Int64(bytes.count), into: $0) }) ?? 0
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
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
        // Another process may take the free port before the child binds it; the child then exits
        // naming it (and a probe may even reach that other server): start again on another port.
        for _ in 0..<5 {
            let port = try freePort()
            let environment = Self.environment(
                database,
                logLevel: logLevel,
                extra: ["PORT": String(port), "HOST": "127.0.0.1"].merging(extra) { _, given in given }
            )
            let child = try await start(worker ? ["serve", "--worker"] : ["serve"], environment: environment)
            var ready = false
            for _ in 0..<attempts where !ready && child.isRunning {
                try await Task.sleep(for: .milliseconds(100))
                ready = (try? await httpStatus("http://127.0.0.1:\(port)\(readyPath)")) == 200
            }
            if !child.isRunning, await child.finish().output.contains("Address already in use") { continue }
            return (child, port, ready && child.isRunning)
        }
        throw TestSetupError("no free port held for a server in five tries")
    }
}

/// A file in the temporary directory that no name leads to: it goes when its last descriptor closes.
private func anonymousFile() throws -> FileDescriptor {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-child-\(UUID().uuidString)").path
    let file = try FileDescriptor.open(
        FilePath(path),
        .readWrite,
        options: [.create, .exclusiveCreate, .closeOnExec],
        permissions: [.ownerReadWrite]
    )
    unlink(path)
    return file
}

extension TerminationStatus {
    /// The exit code, or the signal that ended the process.
    var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): signal
        }
    }
}

/// Set once, when a child has exited.
private final class ExitFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
