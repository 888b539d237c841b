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
    func finish() async -> (status: Int32, output: String) {
        let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func run(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await start(arguments, environment: environment).finish()
    }
}
