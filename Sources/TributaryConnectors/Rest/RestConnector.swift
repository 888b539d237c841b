import Foundation
import Logging
import NIOHTTP1

/// Reads any JSON API as its integration's config describes it: where each stream is, where its
/// records sit in the answer (a JSON pointer), its primary key, its cursor and how the cursor goes
/// into the request, and how pages follow one another.
struct RestConnector: Connector {
    let context: ConnectorContext
    var http: ProviderHTTP

    init(context: ConnectorContext) throws {
        self.context = context
        guard let base = context.string("base_url") else {
            throw ConnectorError(code: "invalid_config", message: "config.base_url is required", retryable: false)
        }
        let auth = context.config["auth"]
        let placement: APIKeyPlacement =
            switch auth?["type"]?.stringValue {
            case "api_key_header": .header(auth?["header"]?.stringValue ?? "Authorization", prefix: auth?["prefix"]?.stringValue ?? "")
            case "api_key_query": .query(auth?["param"]?.stringValue ?? "api_key")
            case "basic": .basic(username: auth?["username"]?.stringValue ?? "")
            default: .header("Authorization", prefix: "Bearer ")
            }
        // `auth: none` means none, whatever credential is stored.
        let credential = auth?["type"]?.stringValue == "none" ? ConnectorCredential.none : context.credential
        self.http = try ProviderHTTP(
            baseURL: base, credential: credential, keyPlacement: placement,
            limiter: RateLimiter(burst: 10, perSecond: 10), logger: context.logger)
    }

    func check() async throws {
        guard let first = context.config["streams"]?.arrayValue?.first, let path = first["path"]?.stringValue else {
            throw ConnectorError(code: "invalid_config", message: "config.streams is empty", retryable: false)
        }
        _ = try await http.getJSON(http.url(path, query: Self.fixedQuery(first)))
    }

    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        guard let spec = context.config["streams"]?.arrayValue?.first(where: { $0["name"]?.stringValue == request.stream.name }),
            let path = spec["path"]?.stringValue, let key = spec["primary_key"]?.stringValue
        else {
            throw ConnectorError(code: "unknown_stream", message: "config.streams has no stream \(request.stream.name)", retryable: false)
        }
        let recordsPath = spec["records_path"]?.stringValue ?? ""
        let cursorField = spec["cursor_field"]?.stringValue
        let since = cursorField == nil ? nil
            : (request.cursor?.stringValue ?? Timestamps.format(Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400)))
        var query = Self.fixedQuery(spec)
        if let since, let param = spec["cursor_param"]?.stringValue { query.append((param, since)) }

        var pager = Pager(spec: spec["pagination"], http: http, path: path, query: query)
        var newest = since
        while let url = pager.next() {
            let page = try await http.get(url)
            let body = try ProviderHTTP.parse(page.body, url: url)
            guard let items = JSONPointer.resolve(recordsPath, in: body)?.arrayValue else {
                throw ConnectorError(
                    code: "malformed_response", message: "\(ProviderHTTP.path(of: url)) answered no array at \(recordsPath.isEmpty ? "the top level" : recordsPath)",
                    retryable: true)
            }
            var records: [SourceRecord] = []
            for item in items {
                guard let id = Self.scalar(item[key]) else {
                    throw ConnectorError(code: "missing_primary_key", message: "a record of \(ProviderHTTP.path(of: url)) has no \(key)", retryable: false)
                }
                if let cursorField, let since, let value = Self.scalar(item[cursorField]) {
                    // Without a cursor parameter the API sends everything: keep only what is newer.
                    if spec["cursor_param"] == nil, !Self.isLater(value, than: since) { continue }
                    newest = newest.map { Self.isLater(value, than: $0) ? value : $0 } ?? value
                }
                records.append(SourceRecord(id: id, json: item.jsonText))
            }
            pager.advance(after: body, headers: page.headers, count: items.count)
            // The API's order is unknown, so the cursor only moves once the whole stream is read.
            let done = pager.isDone
            try await emit(RecordBatch(records: records, checkpoint: done ? newest.map(JSONValue.string) : nil))
        }
    }

    static func fixedQuery(_ spec: JSONValue) -> [(String, String)] {
        guard case .object(let fields)? = spec["query"] else { return [] }
        return fields.sorted { $0.key < $1.key }.compactMap { key, value in value.stringValue.map { (key, $0) } }
    }

    static func scalar(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .integer(let number)?: String(number)
        case .number(let number)?: number.rounded() == number && abs(number) < 9e15 ? String(Int64(number)) : String(number)
        default: nil
        }
    }

    /// Timestamps compare as dates; anything else as numbers, then as text.
    static func isLater(_ a: String, than b: String) -> Bool {
        if let dateA = Timestamps.parse(a), let dateB = Timestamps.parse(b) { return dateA > dateB }
        if let numberA = Double(a), let numberB = Double(b) { return numberA > numberB }
        return a > b
    }
}

/// Walks the pages of one stream as its `pagination` config says.
struct Pager {
    let kind: String
    let spec: JSONValue?
    let http: ProviderHTTP
    let path: String
    let query: [(String, String)]
    private var pending: String?
    private(set) var isDone = false
    private var position = 0

    init(spec: JSONValue?, http: ProviderHTTP, path: String, query: [(String, String)]) {
        self.kind = spec?["type"]?.stringValue ?? "none"
        self.spec = spec
        self.http = http
        self.path = path
        self.query = query
        self.position = kind == "page" ? Self.int(spec?["start_page"]) ?? 1 : 0
        self.pending = http.url(path, query: query + firstParams())
    }

    /// The URL of the next page, or nil when the stream is read.
    mutating func next() -> String? {
        defer { pending = nil }
        return pending
    }

    mutating func advance(after body: JSONValue, headers: HTTPHeaders, count: Int) {
        switch kind {
        case "next_url":
            let link = JSONPointer.resolve(spec?["next_url_path"]?.stringValue ?? "/next", in: body)?.stringValue
            pending = link.flatMap { $0.isEmpty ? nil : http.follow($0) }
        case "link_header":
            pending = Self.nextLink(headers).map { http.follow($0) }
        case "cursor":
            let cursor = JSONPointer.resolve(spec?["next_cursor_path"]?.stringValue ?? "/next_cursor", in: body)
            if let value = RestConnector.scalar(cursor), !value.isEmpty {
                pending = http.url(path, query: query + [(spec?["cursor_param"]?.stringValue ?? "cursor", value)])
            }
        case "offset":
            let limit = Self.int(spec?["limit"]) ?? 100
            position += count
            if count >= limit {
                pending = http.url(path, query: query + [
                    (spec?["offset_param"]?.stringValue ?? "offset", String(position)), (spec?["limit_param"]?.stringValue ?? "limit", String(limit)),
                ])
            }
        case "page":
            let size = Self.int(spec?["size"]) ?? 100
            position += 1
            if count >= size {
                pending = http.url(path, query: query + [
                    (spec?["page_param"]?.stringValue ?? "page", String(position)), (spec?["size_param"]?.stringValue ?? "per_page", String(size)),
                ])
            }
        default:
            pending = nil
        }
        isDone = pending == nil
    }

    private func firstParams() -> [(String, String)] {
        switch kind {
        case "offset":
            [(spec?["offset_param"]?.stringValue ?? "offset", "0"), (spec?["limit_param"]?.stringValue ?? "limit", String(Self.int(spec?["limit"]) ?? 100))]
        case "page":
            [(spec?["page_param"]?.stringValue ?? "page", String(position)), (spec?["size_param"]?.stringValue ?? "per_page", String(Self.int(spec?["size"]) ?? 100))]
        default: []
        }
    }

    static func int(_ value: JSONValue?) -> Int? {
        if case .number(let number)? = value { return Int(exactly: number) }
        return nil
    }

    /// The `rel="next"` target of a `Link` header (RFC 8288).
    static func nextLink(_ headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Link"] {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            if parts.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "").lowercased() == "rel=\"next\"" || $0.lowercased() == "rel=next" }) {
                return String(target.dropFirst().dropLast())
            }
        }
        return nil
    }
}
