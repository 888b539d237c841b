import Foundation
import PostgresNIO

@testable import Tributary

/// A PostgreSQL server of one test's own, which it may stop, crash and start again without
/// touching the server every other test shares. Made by `scripts/lib/postgres.sh`, as
/// `./scripts/test` makes that one (the `postgres` user, a private directory, the same port on
/// every start).
struct PrivateCluster {
    let directory: URL
    let port: Int

    static let helpers = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/lib/postgres.sh")

    /// Makes and starts a cluster (fsync off: a crash of the server, not of the machine, loses nothing).
    static func start() async throws -> PrivateCluster {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tributary-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await helper("pg_start \"$2\" fast", directory)
        let text = try String(contentsOf: directory.appendingPathComponent("port"), encoding: .utf8)
        guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestSetupError("the cluster in \(directory.path) wrote no port")
        }
        return PrivateCluster(directory: directory, port: port)
    }

    /// A new, empty database on this cluster.
    func createDatabase(_ name: String) async throws -> TestDatabase {
        let server = try DatabaseURL(parsing: "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable")
        try await TestDatabase.withConnection(to: server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: TestApp.testLogger)
        }
        return TestDatabase(url: server.with(database: name))
    }

    /// Shuts the server down: `fast` (sessions are told, as by a restart for an upgrade) or
    /// `immediate` (every process quits at once, as in a crash; the next start recovers from the WAL).
    func stop(_ mode: String) async throws {
        try await Self.helper("pg_stop \"$2\" \(mode)", directory)
    }

    /// Starts it again, on the same port.
    func start() async throws {
        try await Self.helper("pg_start \"$2\" fast", directory)
    }

    /// Stops it for good and removes its files.
    func remove() async {
        try? await stop("immediate")
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    private static func helper(_ command: String, _ directory: URL) async throws -> String {
        let script = "set -euo pipefail; source \"$1\"; \(command)"
        let result = try await ChildProcess.launch("/bin/bash", ["-c", script, "cluster", helpers.path, directory.path]).finish()
        guard result.status == 0 else { throw TestSetupError("\(command) failed: \(result.output)") }
        return result.output
    }
}
