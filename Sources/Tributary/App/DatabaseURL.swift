import Foundation
import NIOSSL
import PostgresNIO

/// A parsed `DATABASE_URL` (`postgres://user:password@host:port/database?sslmode=…`).
public struct DatabaseURL: Sendable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode

    public struct ParseError: Error {
        public var reason: String
    }

    public init(parsing text: String) throws(ParseError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ParseError(reason: "must be a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ParseError(reason: "has no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw ParseError(reason: "has no database name")
        }
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        switch sslmode {
        case "disable": self.tlsMode = .disable
        case "allow", "prefer": self.tlsMode = .prefer
        case "require", "verify-ca", "verify-full": self.tlsMode = .require
        default: throw ParseError(reason: "sslmode '\(sslmode)' is not one of disable, prefer, require")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        self.database = database
    }

    /// The same server, another database: tests make one database each.
    public func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// `idleInTransactionLimit`: Postgres ends a session whose transaction waits on its client
    /// longer than this (`idle_in_transaction_session_timeout`), releasing its locks.
    public func clientConfiguration(idleInTransactionLimit: Duration? = nil) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch tlsMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 20
        if let limit = idleInTransactionLimit {
            configuration.options.additionalStartupParameters.append(
                ("idle_in_transaction_session_timeout", String(max(1, limit.wholeMilliseconds)))
            )
        }
        return configuration
    }
}
