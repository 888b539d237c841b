import Configuration
import Foundation
import Logging
import TributaryConnectors

/// Everything the process reads from its environment, checked once at start.
public struct AppConfig: Sendable {
    public var database: DatabaseURL
    public var adminToken: String
    /// Nil only for commands that touch no secret (`migrate`).
    public var keyRing: KeyRing?
    public var publicURL: String
    public var port: Int
    public var host: String
    /// SMTP and the outbox sender.
    public var alerting: AlertingSettings
    public var logLevel: Logger.Level
    public var migrationsDirectory: String?
    public var worker: WorkerSettings
    public var api: APISettings
    public var limits: TenantLimits
    /// Where connectors may connect: public addresses, and `TRIBUTARY_EGRESS_ALLOW`'s blocks.
    public var egress: EgressPolicy
    /// Pages per stream and the request timeout every connector runs with.
    public var connectorLimits: ConnectorLimits
    /// What a run-task child needs of this configuration, as environment variables.
    public var childEnvironment: [String: String]

    /// Reads the configuration; throws a `ConfigError` naming each missing or malformed setting.
    public init(reader: ConfigReader, requireAdminToken: Bool = true, requireKeys: Bool = true) throws(ConfigError) {
        var problems: [String] = []

        let databaseURL = reader.string(forKey: "database.url", isSecret: true)
        var database: DatabaseURL?
        if let databaseURL {
            do {
                database = try DatabaseURL(parsing: databaseURL)
            } catch {
                problems.append("DATABASE_URL: \(error.reason)")
            }
        } else {
            problems.append("DATABASE_URL is required (postgres://user:password@host:5432/database)")
        }

        let adminToken = reader.string(forKey: "tributary.admin.token", isSecret: true) ?? ""
        if requireAdminToken && adminToken.count < 16 {
            problems.append("TRIBUTARY_ADMIN_TOKEN is required and must be at least 16 characters")
        }

        var keyRing: KeyRing?
        if let keys = reader.string(forKey: "tributary.encryption.keys", isSecret: true) {
            do {
                keyRing = try KeyRing(parsing: keys)
            } catch {
                problems.append(error.description)
            }
        } else if requireKeys {
            problems.append("TRIBUTARY_ENCRYPTION_KEYS is required (id:base64 of 32 bytes; make a key with: openssl rand -base64 32)")
        }

        problems += PublishedSecrets.problems(
            adminToken: adminToken,
            encryptionKeys: reader.string(forKey: "tributary.encryption.keys", isSecret: true)
        )

        let port = reader.int(forKey: "port") ?? 8080
        if reader.string(forKey: "port") != nil && reader.int(forKey: "port") == nil || !(1...65535).contains(port) {
            problems.append("PORT must be a number from 1 to 65535")
        }

        let levelText = reader.string(forKey: "log.level") ?? "info"
        let logLevel = Logger.Level(rawValue: levelText.lowercased())
        if logLevel == nil {
            problems.append("LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }

        let publicURL = reader.string(forKey: "tributary.public.url") ?? "http://127.0.0.1:\(port)"
        if URL(string: publicURL)?.scheme.map({ ["http", "https"].contains($0) }) != true {
            problems.append("TRIBUTARY_PUBLIC_URL must be an http or https URL")
        }

        let worker = WorkerSettings(reader: reader, problems: &problems)
        let api = APISettings(reader: reader, problems: &problems)
        let limits = TenantLimits(reader: reader, problems: &problems)
        let alerting = AlertingSettings(reader: reader, problems: &problems)

        var egress = EgressPolicy.publicOnly
        do {
            egress = try EgressPolicy(parsing: reader.string(forKey: "tributary.egress.allow") ?? "")
        } catch {
            problems.append(error.description)
        }
        var connectorLimits = ConnectorLimits()
        connectorLimits.maxPagesPerStream = reader.wholeNumber(
            "tributary.max.pages.per.stream",
            "TRIBUTARY_MAX_PAGES_PER_STREAM",
            1...100_000_000,
            default: connectorLimits.maxPagesPerStream,
            problems: &problems
        )
        let timeout = reader.wholeNumber(
            "tributary.provider.timeout.seconds",
            "TRIBUTARY_PROVIDER_TIMEOUT_SECONDS",
            1...3600,
            default: 60,
            problems: &problems
        )
        connectorLimits.requestTimeout = .seconds(timeout)

        guard problems.isEmpty, let database, let logLevel else {
            throw ConfigError(problems: problems)
        }
        self.database = database
        self.adminToken = adminToken
        self.keyRing = keyRing
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.port = port
        self.host = reader.string(forKey: "host") ?? "0.0.0.0"
        self.alerting = alerting
        self.logLevel = logLevel
        self.migrationsDirectory = reader.string(forKey: "tributary.migrations.dir")
        self.worker = worker
        self.api = api
        self.limits = limits
        self.egress = egress
        self.connectorLimits = connectorLimits
        var environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "TMPDIR", "LANG"].contains($0.key) }
        environment["DATABASE_URL"] = databaseURL
        environment["TRIBUTARY_ENCRYPTION_KEYS"] = reader.string(forKey: "tributary.encryption.keys", isSecret: true)
        environment["TRIBUTARY_PUBLIC_URL"] = self.publicURL
        environment["LOG_LEVEL"] = levelText
        environment["TRIBUTARY_RUN_MEMORY_MB"] = String(worker.memoryLimitMB)
        environment["TRIBUTARY_LEASE_SECONDS"] = String(worker.leaseSeconds)
        environment["TRIBUTARY_STREAMS_PER_RUN"] = String(worker.streamsPerRun)
        environment.merge(limits.childEnvironment) { _, limit in limit }
        if !egress.allowed.isEmpty { environment["TRIBUTARY_EGRESS_ALLOW"] = egress.allowText }
        environment["TRIBUTARY_MAX_PAGES_PER_STREAM"] = String(connectorLimits.maxPagesPerStream)
        environment["TRIBUTARY_PROVIDER_TIMEOUT_SECONDS"] = String(timeout)
        self.childEnvironment = environment
    }
}

/// One or more settings are missing or malformed; `problems` names each of them.
public struct ConfigError: Error, CustomStringConvertible {
    public var problems: [String]

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
