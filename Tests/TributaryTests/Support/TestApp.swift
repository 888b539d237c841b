import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Tributary

/// The application as `tributary serve` builds it, on a fresh database, driven through HTTP.
struct TestApp {
    static let adminToken = "test-admin-token-0123456789"
    /// Two fixed test keys: `k1` seals unless a test puts another first.
    static let key1 = "k1:" + Data(repeating: 1, count: 32).base64EncodedString()
    static let key2 = "k2:" + Data(repeating: 2, count: 32).base64EncodedString()

    let database: TestDatabase

    static func config(database: TestDatabase, extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> AppConfig {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "database.url": .init(.string(databaseURLString(database.url)), isSecret: true),
            "tributary.admin.token": .init(.string(adminToken), isSecret: true),
            "tributary.public.url": "http://127.0.0.1:8080",
            "tributary.encryption.keys": .init(.string(key1), isSecret: true),
        ]
        values.merge(extra) { _, new in new }
        return try AppConfig(reader: ConfigReader(provider: InMemoryProvider(values: values)))
    }

    static func databaseURLString(_ url: DatabaseURL) -> String {
        "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
    }

    /// Builds the app on a new database and runs `body` against it.
    static func run<T: Sendable>(
        logs: LogCapture? = nil, extra: [AbsoluteConfigKey: ConfigValue] = [:], database: TestDatabase? = nil,
        _ body: @Sendable (TestClient) async throws -> T
    ) async throws -> T {
        let database = if let database { database } else { try await TestDatabase.create() }
        let config = try config(database: database, extra: extra)
        let logger = logs?.logger ?? testLogger
        let app = try buildApplication(config: config, logger: logger)
        return try await app.test(.router) { client in
            try await body(TestClient(client: client, database: database, config: config, logger: logger))
        }
    }

    static let testLogger: Logger = {
        var logger = Logger(label: "tributary-test")
        logger.logLevel = .warning
        return logger
    }()
}

/// A response with its body read.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: Data

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder.api.decode(T.self, from: body)
    }

    /// The `errors[].field` of a problem answer.
    var errorFields: [String] {
        (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }
}

/// Sends requests as a given caller.
struct TestClient: Sendable {
    let client: any TestClientProtocol
    let database: TestDatabase
    let config: AppConfig
    let logger: Logger

    enum Auth: Sendable {
        case admin
        case token(String)
        case none
        case header(String)
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, as auth: Auth = .admin, json: String? = nil,
        headers extraHeaders: HTTPFields = [:], rawBody: ByteBuffer? = nil
    ) async throws -> Reply {
        var headers = extraHeaders
        switch auth {
        case .admin: headers[.authorization] = "Bearer \(TestApp.adminToken)"
        case .token(let token): headers[.authorization] = "Bearer \(token)"
        case .header(let value): headers[.authorization] = value
        case .none: break
        }
        var body = rawBody
        if let json {
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
            body = ByteBuffer(string: json)
        }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            Reply(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
        }
    }

    /// Creates a tenant as admin and returns its id.
    func createTenant(_ name: String = "Acme", emails: [String] = ["ops@acme.test"]) async throws -> String {
        let emailList = emails.map { "\"\($0)\"" }.joined(separator: ",")
        let reply = try await send(.post, "/v1/tenants", json: #"{"name":"\#(name)","alert_emails":[\#(emailList)]}"#)
        #expect(reply.status == .created)
        return try #require(reply.json["id"] as? String)
    }

    /// Creates an API key of the tenant and returns (id, key).
    func createKey(tenant: String, name: String = "backend", as auth: Auth = .admin) async throws -> (id: String, key: String) {
        let reply = try await send(.post, "/v1/tenants/\(tenant)/api-keys", as: auth, json: #"{"name":"\#(name)"}"#)
        #expect(reply.status == .created)
        return (try #require(reply.json["id"] as? String), try #require(reply.json["key"] as? String))
    }
}

/// The list envelope as a client reads it back.
struct ListOf<Item: Decodable>: Decodable {
    var data: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor = "next_cursor"
    }
}
