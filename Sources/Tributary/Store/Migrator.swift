import Foundation
import Logging
import PostgresNIO

/// Applies `migrations/` in order, each in its own transaction, recorded in `schema_migrations`.
/// A session advisory lock makes processes that start together apply each migration once.
public struct Migrator: Sendable {
    let client: PostgresClient
    let migrations: [Migration]
    let logger: Logger

    /// Arbitrary, fixed: "trib" in ASCII.
    static let advisoryLockKey: Int64 = 0x7472_6962

    public init(client: PostgresClient, directory: URL, logger: Logger) throws(MigrationError) {
        self.client = client
        self.migrations = try Migration.load(from: directory)
        self.logger = logger
    }

    /// The migrations of the folder the configuration leads to; logs which folder that is.
    init(client: PostgresClient, config: AppConfig, logger: Logger) throws(MigrationError) {
        let directory = try Migration.locateDirectory(configured: config.migrationsDirectory)
        logger.info("using migrations", metadata: ["directory": "\(directory.path)"])
        try self.init(client: client, directory: directory, logger: logger)
    }

    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies what is pending; returns the versions this call applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
            do {
                let applied = try await applyPending(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                return applied
            } catch {
                // The lock belongs to the session; release it before the connection goes back to the pool.
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    /// Versions in the folder that the database has not applied yet.
    public func pendingVersions() async throws -> [Int] {
        let exists =
            try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .decode(Bool.self).first { _ in true } ?? false
        guard exists else { return migrations.map(\.version) }
        var applied = Set<Int>()
        for try await version in try await client.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            applied.insert(version)
        }
        return migrations.map(\.version).filter { !applied.contains($0) }
    }

    private func applyPending(on connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    bigint      PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var applied = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            applied.insert(version)
        }
        if let newest = applied.max(), newest > latestVersion {
            logger.warning(
                "database has migrations this binary does not know",
                metadata: ["database_version": "\(newest)", "binary_version": "\(latestVersion)"]
            )
        }
        var done: [Int] = []
        for migration in migrations where !applied.contains(migration.version) {
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in SQLScript.statements(in: migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger
                    )
                }
            } catch {
                throw MigrationError.failed(name: migration.name, reason: "\(StoreError.unwrapping(error))")
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
            done.append(migration.version)
        }
        return done
    }
}
