import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Tributary

/// A fresh, empty database on the throw-away server that `scripts/test` starts.
struct TestDatabase {
    let url: DatabaseURL

    static var serverURL: DatabaseURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["TRIBUTARY_TEST_DATABASE_URL"] else {
                throw TestSetupError("TRIBUTARY_TEST_DATABASE_URL is not set: run the tests with ./scripts/test")
            }
            return try DatabaseURL(parsing: text)
        }
    }

    /// Creates `t_<random>` and returns it; every test gets its own, so tests run in parallel.
    static func create() async throws -> TestDatabase {
        TimerProbe.running
        let server = try serverURL
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        // Two hundred tests start at once on two cores: a connection or CREATE DATABASE may time
        // out in the rush, which is no failure of what the test tries. Try again a few times.
        for attempt in 1... {
            do {
                try await withConnection(to: server) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test"))
                }
                return TestDatabase(url: server.with(database: name))
            } catch {
                let exists = try? await withConnection(to: server) { connection in
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT 1 FROM pg_database WHERE datname = '\(name)'"),
                        logger: Logger(label: "test")
                    )
                    .collect().count
                }
                if exists == 1 { return TestDatabase(url: server.with(database: name)) }
                if attempt == 5 { throw TestSetupError("could not create database \(name): \(String(reflecting: error))") }
                try await Task.sleep(for: .milliseconds(500 * attempt))
            }
        }
        throw TestSetupError("unreachable")
    }

    @discardableResult
    static func withConnection<T>(to url: DatabaseURL, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let configuration = url.clientConfiguration()
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: configuration.host ?? "127.0.0.1",
                port: configuration.port ?? 5432,
                username: configuration.username,
                password: configuration.password,
                database: configuration.database,
                tls: .disable
            ),
            id: 1,
            logger: Logger(label: "test")
        )
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs one query on this database and returns its rows as `T`.
    func rows<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        try await Self.withConnection(to: url) { connection in
            var result: [T] = []
            for try await value in try await connection.query(query, logger: Logger(label: "test")).decode(T.self) {
                result.append(value)
            }
            return result
        }
    }

    /// The database's contents as `pg_dump` writes them.
    func dump() async throws -> String {
        let candidates = ["/usr/bin/pg_dump", "/usr/lib/postgresql/15/bin/pg_dump"]
        let pgDump = candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/pg_dump"
        let dumped = try await ChildProcess.launch(pgDump, ["--no-owner", TestApp.databaseURLString(url)]).finish()
        guard dumped.status == 0 else { throw TestSetupError("pg_dump failed: \(dumped.output)") }
        return dumped.output
    }
}

/// A fixed SQL text as a query (tests only: no values to bind).
func PostgresQueryText(_ text: String) -> PostgresQuery {
    PostgresQuery(unsafeSQL: text)
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
