import Logging

/// Applies pending migrations and returns: `tributary migrate`.
public func runMigrations(config: AppConfig, logger: Logger) async throws {
    try await withPostgres(config: config, logger: logger) { postgres in
        let migrator = try Migrator(client: postgres, config: config, logger: logger)
        let applied = try await migrator.migrate()
        logger.info("migrations up to date", metadata: ["applied": "\(applied.count)", "version": "\(migrator.latestVersion)"])
    }
}

/// Re-seals every secret under the first key: `tributary keys rotate`.
public func rotateKeys(config: AppConfig, logger: Logger) async throws -> (rewritten: Int, unreadable: Int) {
    guard let keyRing = config.keyRing else { throw VaultError.badKeyRing("no key given") }
    return try await withPostgres(config: config, logger: logger) { postgres in
        let summary = try await KeyRotation(store: Store(client: postgres, logger: logger), keyRing: keyRing, logger: logger).run()
        return (summary.rewritten, summary.unreadable)
    }
}
