import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Tributary

/// The application as `tributary serve` builds it, on a fresh database, driven through HTTP.
enum TestApp {
    /// Drawn anew by every test process: no secret that works is written in the repository.
    static let adminToken = "test-admin-" + randomBase64(bytes: 24)
    /// Two test keys: `k1` seals unless a test puts another first.
    static let key1 = "k1:" + randomBase64(bytes: 32)
    static let key2 = "k2:" + randomBase64(bytes: 32)

    /// What the tests allow connectors to reach: their fakes, on 127.0.0.1 only.
    static let egressAllow = "127.0.0.1/32"

    static func randomBase64(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    static func config(database: TestDatabase, extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> AppConfig {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "database.url": .init(.string(databaseURLString(database.url)), isSecret: true),
            "tributary.admin.token": .init(.string(adminToken), isSecret: true),
            "tributary.public.url": "http://127.0.0.1:8080",
            "tributary.encryption.keys": .init(.string(key1), isSecret: true),
            // The fake providers listen on 127.0.0.1; nothing else internal is reachable.
            "tributary.egress.allow": .init(.string(egressAllow), isSecret: false),
        ]
        values.merge(extra) { _, new in new }
        return try AppConfig(reader: ConfigReader(provider: InMemoryProvider(values: values)))
    }

    static func databaseURLString(_ url: DatabaseURL) -> String {
        "postgres://\(url.username)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
    }

    /// Fast settings for syncs (short leases, polls and backoffs; the run-task binary built beside
    /// the tests). Every test's app gets them, with or without a worker; `extra` overrides them.
    static var workerSettings: [AbsoluteConfigKey: ConfigValue] {
        [
            "tributary.poll.interval.ms": "50",
            "tributary.scheduler.interval.ms": "200",
            // Long enough that a loaded 2-core machine never loses one (WorkerTests, which kill workers, use 3 s).
            "tributary.lease.seconds": "10",
            "tributary.retry.base.ms": "200",
            "tributary.run.task.binary": .init(.string(ChildProcess.binary.path), isSecret: false),
            "tributary.worker.concurrency": "4",
            "log.level": "warning",
            // Tests set up hundreds of resources in a burst; APILimitsTests turns the limit on.
            "tributary.api.rate.limit": "off",
        ]
    }

    /// Builds the app on `database` (a new one unless given), with the worker when `worker`, and
    /// runs `body` against it through HTTP.
    static func run<T: Sendable>(
        logs: LogCapture? = nil,
        extra: [AbsoluteConfigKey: ConfigValue] = [:],
        database: TestDatabase? = nil,
        worker: Bool = false,
        _ body: @Sendable (TestClient) async throws -> T
    ) async throws -> T {
        let phase = TestPhases.enter("creating its database")
        defer { phase.leave() }
        let database = if let database { database } else { try await TestDatabase.create() }
        let config = try config(database: database, extra: workerSettings.merging(extra) { _, new in new })
        let logger = logs?.logger ?? phase.logger(testLogger)
        let app = try buildApplication(config: config, logger: logger, runWorker: worker)
        phase.move(to: "starting its services and migrating")
        return try await app.test(.router) { client in
            phase.move(to: TestPhases.running)
            defer { phase.move(to: "stopping its services") }
            return try await body(TestClient(client: client, database: database, config: config, logger: logger))
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

    /// The body read into one of the views of `Views.swift`.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Wire.decoder.decode(T.self, from: body)
    }

    /// The body as untyped JSON, for what a view cannot tell: whether a member is `null` or missing
    /// (answers write `null`s rather than leave members out, and clients may rely on that).
    var raw: JSON {
        (try? Wire.decoder.decode(JSON.self, from: body)) ?? .null
    }

    /// The `errors[].field` of a problem answer.
    var errorFields: [String] {
        ((try? decode(ProblemView.self))?.errors ?? []).map(\.field)
    }
}

/// Sends requests as a given caller.
struct TestClient: Sendable {
    let client: any TestClientProtocol
    let database: TestDatabase
    let config: AppConfig
    let logger: Logger

    static let requestLimit = Duration.seconds(120)

    enum Auth: Sendable {
        case admin
        case token(String)
        case none
        case header(String)
    }

    /// Sends `json` as it is written: for bodies that are the point of the test (malformed,
    /// wrongly typed, unusual). Everything else goes through `send(_:_:as:body:headers:)`.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        as auth: Auth = .admin,
        json: String? = nil,
        headers extraHeaders: HTTPFields = [:],
        rawBody: ByteBuffer? = nil
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
        let client = self.client
        let (sent, sentHeaders) = (body, headers)
        // No request the tests make takes minutes: one that does fails its test, named, rather than
        // holding the whole run until ./scripts/test's deadline.
        return try await withDeadline(Self.requestLimit, "\(method) \(path)") {
            try await client.execute(uri: path, method: method, headers: sentHeaders, body: sent) { response in
                Reply(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
            }
        }
    }

    /// Sends `body` as JSON, written by `Wire.encoder`.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        as auth: Auth = .admin,
        body: some Encodable,
        headers: HTTPFields = [:]
    ) async throws -> Reply {
        try await send(method, path, as: auth, json: String(decoding: Wire.encoder.encode(body), as: UTF8.self), headers: headers)
    }

    /// Creates a tenant as admin and returns its id.
    func createTenant(_ name: String = "Acme", emails: [String] = ["ops@acme.test"]) async throws -> String {
        let reply = try await send(.post, "/v1/tenants", body: TenantBody(name: name, alertEmails: emails))
        #expect(reply.status == .created)
        return try reply.decode(TenantView.self).id
    }

    /// Creates an API key of the tenant and returns (id, key).
    func createKey(tenant: String, name: String = "backend", as auth: Auth = .admin) async throws -> (id: String, key: String) {
        let reply = try await send(.post, "/v1/tenants/\(tenant)/api-keys", as: auth, body: KeyBody(name: name))
        #expect(reply.status == .created)
        let created = try reply.decode(APIKeyView.self)
        return (created.id, try #require(created.key))
    }

    /// Creates an integration and returns its id.
    func createIntegration(tenant: String, _ body: IntegrationBody, as auth: Auth = .admin) async throws -> String {
        let reply = try await send(.post, "/v1/tenants/\(tenant)/integrations", as: auth, body: body)
        #expect(reply.status == .created)
        return try reply.decode(IntegrationView.self).id
    }

    /// Creates a Klaviyo integration of `streams`, reading the fake on `port` with API key `key`.
    func klaviyoIntegration(tenant: String, port: Int, key: String, streams: [String]) async throws -> String {
        try await createIntegration(
            tenant: tenant,
            IntegrationBody(
                provider: "klaviyo",
                name: "K",
                streams: streams,
                config: ["base_url": .string("http://127.0.0.1:\(port)")],
                credential: .apiKey(key)
            )
        )
    }
}

extension TestClient {
    /// Polls the integration's runs until `runID` (or the newest run) has ended; returns it. The
    /// timeout catches a run that never ends; it is no measure of speed: two hundred tests share two
    /// cores, and a run of a few seconds alone has been seen to take a minute among them.
    func waitForRun(tenant: String, integration: String, runID: String? = nil, timeout: Duration = .seconds(180)) async throws -> RunView {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let path = "/v1/tenants/\(tenant)/integrations/\(integration)/syncs"
            let run: RunView?
            if let runID {
                run = try await send(.get, "\(path)/\(runID)").decode(RunView.self)
            } else {
                run = try await send(.get, path).decode(ListOf<RunView>.self).data.first
            }
            if let run, run.hasEnded { return run }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSetupError("run did not finish within \(timeout)")
    }

    /// Starts a run (`POST …/syncs`, with `body` when given, else with none) and waits for it to end.
    func syncAndWait(tenant: String, integration: String, _ body: SyncBody? = nil) async throws -> (started: Reply, run: RunView) {
        let path = "/v1/tenants/\(tenant)/integrations/\(integration)/syncs"
        let started = if let body { try await send(.post, path, body: body) } else { try await send(.post, path) }
        guard started.status == .accepted else {
            throw TestSetupError("POST \(path) answered \(started.status): \(String(decoding: started.body, as: UTF8.self))")
        }
        let run = try await waitForRun(tenant: tenant, integration: integration, runID: try started.decode(RunView.self).id)
        return (started, run)
    }

    /// Every record of the integration, read page by page; and the cursor after the last one.
    func allRecords(
        tenant: String,
        integration: String,
        stream: String? = nil,
        from cursor: String? = nil,
        limit: Int = 200
    ) async throws -> (records: [RecordView], cursor: String?) {
        var records: [RecordView] = []
        var cursor = cursor
        while true {
            var query = "limit=\(limit)"
            if let stream { query += "&stream=\(stream)" }
            if let cursor { query += "&cursor=\(cursor)" }
            let reply = try await send(.get, "/v1/tenants/\(tenant)/integrations/\(integration)/records?\(query)")
            guard reply.status == .ok else { throw TestSetupError("records answered \(reply.status)") }
            let page = try reply.decode(ListOf<RecordView>.self)
            records += page.data
            cursor = page.nextCursor
            if page.hasMore != true { return (records, cursor) }
        }
    }
}
