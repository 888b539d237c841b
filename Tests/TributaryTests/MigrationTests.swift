import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Tributary

@Suite("Migrations and the processes that run them")
struct MigrationTests {
    @Test("SQL files are cut at top-level semicolons only")
    func splitting() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'semi;colon');
            /* block; comment */
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            CREATE TABLE "we;ird" (y int)
            ;
            """
        let statements = SQLScript.statements(in: sql)
        #expect(statements.count == 3)
        #expect(statements[0].hasSuffix("DEFAULT 'semi;colon')"))
        #expect(statements[1].contains("$body$ SELECT 1; $body$"))
        #expect(statements[2].hasPrefix(#"CREATE TABLE "we;ird""#))
    }

    /// The versions of the files in `migrations/`.
    static func shippedVersions() throws -> [Int] {
        try Migration.load(from: Migration.locateDirectory(configured: nil)).map(\.version)
    }

    @Test("two migrate processes racing apply each migration once")
    func racingProcesses() async throws {
        let database = try await TestDatabase.create()
        let environment = ChildProcess.environment(database)
        async let first = ChildProcess.run(["migrate"], environment: environment)
        async let second = ChildProcess.run(["migrate"], environment: environment)
        let results = try await [first, second]
        for result in results {
            #expect(result.status == 0, "\(result.output)")
        }
        let expected = try Self.shippedVersions()
        let appliedLines = results.map { $0.output.components(separatedBy: "applied migration").count - 1 }
        #expect(appliedLines.reduce(0, +) == expected.count, "each migration applied by exactly one process")
        let versions = try await database.rows("SELECT version FROM schema_migrations ORDER BY version", as: Int.self)
        #expect(versions == expected)
        #expect(try await database.rows("SELECT count(*) FROM pg_tables WHERE tablename = 'tenants'", as: Int.self) == [1])
    }

    @Test("migration 0013 gives the entries written before it their severity, by action and by the failure's fault")
    func severityBackfill() async throws {
        let database = try await TestDatabase.create()
        let shipped = try Migration.locateDirectory(configured: nil)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in try FileManager.default.contentsOfDirectory(atPath: shipped.path) where file < "0013" {
            try FileManager.default.copyItem(at: shipped.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        var environment = ChildProcess.environment(database)
        environment["TRIBUTARY_MIGRATIONS_DIR"] = folder.path
        #expect(try await ChildProcess.run(["migrate"], environment: environment).status == 0)
        let tenant = UUID()
        _ = try await database.rows("INSERT INTO tenants (id, name) VALUES (\(tenant), 'Old') RETURNING 1", as: Int.self)
        let written: [(action: String, details: String, severity: String)] = [
            ("sync.started", "{}", "low"), ("sync.succeeded", "{}", "low"), ("integration.updated", "{}", "medium"),
            ("integration.paused", "{}", "medium"), ("integration.created", "{}", "high"), ("webhook.disabled", "{}", "critical"),
            ("oauth.refresh_failed", "{}", "critical"), ("sync.failed", #"{"error": {"code": "provider_timeout"}}"#, "high"),
            ("sync.failed", #"{"error": {"code": "invalid_config"}}"#, "critical"), ("some.future_action", "{}", "high"),
        ]
        for entry in written {
            _ = try await database.rows(
                """
                INSERT INTO activity (id, tenant_id, actor_type, action, details)
                VALUES (gen_random_uuid(), \(tenant), 'system', \(entry.action), \(entry.details)::jsonb) RETURNING 1
                """,
                as: Int.self
            )
        }
        #expect(try await ChildProcess.run(["migrate"], environment: ChildProcess.environment(database)).status == 0)
        let severities = try await database.rows("SELECT severity FROM activity ORDER BY seq", as: String.self)
        #expect(severities == written.map(\.severity))
    }

    @Test("a failing migration leaves nothing behind and names itself")
    func failingMigrationRollsBack() async throws {
        let database = try await TestDatabase.create()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "CREATE TABLE one (id int);".write(to: folder.appendingPathComponent("0001_create_one.sql"), atomically: true, encoding: .utf8)
        try "CREATE TABLE two (id int); SELECT no_such_function();"
            .write(to: folder.appendingPathComponent("0002_create_two.sql"), atomically: true, encoding: .utf8)

        var environment = ChildProcess.environment(database)
        environment["TRIBUTARY_MIGRATIONS_DIR"] = folder.path
        let result = try await ChildProcess.run(["migrate"], environment: environment)
        #expect(result.status == 1)
        #expect(result.output.contains("0002_create_two.sql"))
        #expect(result.output.contains(folder.path))
        #expect(try await database.rows("SELECT version FROM schema_migrations", as: Int.self) == [1])
        #expect(try await database.rows("SELECT count(*) FROM pg_tables WHERE tablename = 'two'", as: Int.self) == [0])
    }

    @Test("missing or malformed configuration exits 2 naming each setting")
    func badConfiguration() async throws {
        let missing = try await ChildProcess.run(["serve"], environment: [:])
        #expect(missing.status == 2)
        #expect(missing.output.contains("DATABASE_URL"))
        #expect(missing.output.contains("TRIBUTARY_ADMIN_TOKEN"))
        #expect(missing.output.contains("TRIBUTARY_ENCRYPTION_KEYS"))
        #expect(!missing.output.contains("Fatal error"))

        let malformed = try await ChildProcess.run(
            ["serve"],
            environment: [
                "DATABASE_URL": "mysql://x/y", "TRIBUTARY_ADMIN_TOKEN": TestApp.adminToken, "PORT": "http", "LOG_LEVEL": "loud",
                "TRIBUTARY_ENCRYPTION_KEYS": "k1:c2hvcnQ=",
            ]
        )
        #expect(malformed.status == 2)
        #expect(malformed.output.contains("DATABASE_URL"))
        #expect(malformed.output.contains("PORT"))
        #expect(malformed.output.contains("LOG_LEVEL"))
        #expect(malformed.output.contains("key 'k1' is not 32 bytes"))
        #expect(!malformed.output.contains(TestApp.adminToken))
    }

    @Test("serve --worker migrates, serves, and stops cleanly on SIGTERM")
    func serveAndStop() async throws {
        let database = try await TestDatabase.create()
        let (child, _, ready) = try await ChildProcess.startServer(database, worker: true, readyPath: "/readyz")
        #expect(ready)
        child.terminate()
        let result = await child.finish()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("worker stopped"))
        #expect(try await database.rows("SELECT count(*) FROM schema_migrations", as: Int.self) == [try Self.shippedVersions().count])
    }

    @Test("worker starts and stops cleanly on SIGINT")
    func workerStops() async throws {
        let database = try await TestDatabase.create()
        let child = try await ChildProcess.start(["worker"], environment: ChildProcess.environment(database))
        var started = false
        for _ in 0..<100 where !started {
            try await Task.sleep(for: .milliseconds(100))
            started = (try? await database.rows("SELECT count(*) FROM schema_migrations", as: Int.self)) == [try Self.shippedVersions().count]
        }
        try await Task.sleep(for: .milliseconds(300))
        kill(child.processIdentifier, SIGINT)
        let result = await child.finish()
        #expect(started)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("worker stopped"))
    }
}
