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
    /// Drawn anew by every test process: no secret that works is written in the repository.
    static let adminToken = "test-admin-" + randomBase64(bytes: 24)
    /// Two test keys: `k1` seals unless a test puts another first.
    static let key1 = "k1:" + randomBase64(bytes: 32)
    static let key2 = "k2:" + randomBase64(bytes: 32)

    static func randomBase64(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

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
    /// Fast settings for tests that run syncs: short leases, polls and backoffs.
    static var workerSettings: [AbsoluteConfigKey: ConfigValue] {
        [
            "tributary.poll.interval.ms": "50",
            "tributary.scheduler.interval.ms": "200",
            "tributary.lease.seconds": "3",
            "tributary.retry.base.ms": "200",
            "tributary.run.task.binary": .init(.string(ChildProcess.binary.path), isSecret: false),
            "tributary.worker.concurrency": "4",
            "log.level": "warning",
        ]
    }

    static func run<T: Sendable>(
        logs: LogCapture? = nil, extra: [AbsoluteConfigKey: ConfigValue] = [:], database: TestDatabase? = nil,
        worker: Bool = false, _ body: @Sendable (TestClient) async throws -> T
    ) async throws -> T {
        let database = if let database { database } else { try await TestDatabase.create() }
        let config = try config(database: database, extra: workerSettings.merging(extra) { _, new in new })
        let logger = logs?.logger ?? testLogger
        let app = try buildApplication(config: config, logger: logger, runWorker: worker)
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
        try JSONCoding.decoder.decode(T.self, from: body)
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

extension TestClient {
    /// Polls the integration's runs until `runID` (or the newest run) has ended; returns it.
    func waitForRun(tenant: String, integration: String, runID: String? = nil, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let path = "/v1/tenants/\(tenant)/integrations/\(integration)/syncs"
            let run: [String: Any]?
            if let runID {
                run = try await send(.get, "\(path)/\(runID)").json
            } else {
                run = (try await send(.get, path).json["data"] as? [[String: Any]])?.first
            }
            if let run, let status = run["status"] as? String, ["succeeded", "failed", "cancelled"].contains(status) {
                return run
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("run did not finish within \(timeout)")
    }

    /// Every record of the integration, read page by page; and the cursor after the last one.
    func allRecords(tenant: String, integration: String, stream: String? = nil, from cursor: String? = nil, limit: Int = 200) async throws -> (records: [[String: Any]], cursor: String?) {
        var records: [[String: Any]] = []
        var cursor = cursor
        while true {
            var query = "limit=\(limit)"
            if let stream { query += "&stream=\(stream)" }
            if let cursor { query += "&cursor=\(cursor)" }
            let page = try await send(.get, "/v1/tenants/\(tenant)/integrations/\(integration)/records?\(query)")
            guard page.status == .ok else { throw TestSetupError("records answered \(page.status)") }
            records += page.json["data"] as? [[String: Any]] ?? []
            cursor = page.json["next_cursor"] as? String
            if page.json["has_more"] as? Bool != true { return (records, cursor) }
        }
    }
}
