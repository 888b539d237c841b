import Foundation
import Logging

/// Reads any JSON API as its integration's config describes it: where each stream is, where its
/// records sit in the answer (a JSON pointer), its primary key, its cursor and how the cursor goes
/// into the request, and how pages follow one another.
struct RestConnector: Connector {
    let config: RestConfig
    var http: ProviderHTTP

    init(context: ConnectorContext) throws {
        let config = try RestConfig(context.config)
        self.config = config
        // `auth: none` means none, whatever credential is stored.
        var credential = context.credential
        if case .unauthenticated? = config.auth { credential = .none }
        self.http = try ProviderHTTP(
            baseURL: config.baseURL,
            credential: credential,
            keyPlacement: config.auth?.placement ?? RestAuth.bearer.placement,
            limiter: RateLimiter(.uniform(config.rateLimit?.limit ?? .unlimited)),
            logger: context.logger,
            egress: context.egress,
            limits: context.limits
        )
    }

    func check() async throws {
        guard let first = config.streams.first else {
            throw ConnectorError(code: "invalid_config", message: "config.streams is empty", retryable: false)
        }
        _ = try await http.getJSON(http.url(first.path, query: first.fixedQuery))
    }

    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        guard let stream = config.stream(named: request.stream.name) else {
            throw ConnectorError(code: "unknown_stream", message: "config.streams has no stream \(request.stream.name)", retryable: false)
        }
        if let parent = stream.parent {
            try await readChildren(stream, of: parent, request: request, emit: emit)
            return
        }
        let format = stream.cursorFormat ?? .rfc3339
        // The checkpoint, or the historical start in the cursor's format (none for plain numbers).
        let since =
            stream.cursorField == nil
            ? nil : (request.cursor?.stringValue ?? CursorValue.start(days: request.historicalSyncDays, format: format))
        var query = stream.fixedQuery
        if let since, let param = stream.cursorParam { query.append((param, CursorValue.parameter(since))) }
        var newest = since
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: stream.name)
        // Pages are stored in batches of up to `batchSize` records or `batchBytes` of JSON: the cursor
        // moves only at the end anyway, and a transaction per page of 100 would cost more than the page.
        var pending: [SourceRecord] = []
        var pendingBytes = 0
        var emitted = false
        try await walk(stream, path: stream.path, query: query, budget: &budget, keepingText: true) { page in
            for (index, item) in page.items.enumerated() {
                if let cursorField = stream.cursorField, let value = Self.scalar(item[cursorField]) {
                    // Without a cursor parameter the API sends everything: keep what is not provably older
                    // (the checkpoint's own value included: a record changed later within it carries it too).
                    if stream.cursorParam == nil, let since, !CursorValue.reaches(value, since) { continue }
                    newest = CursorValue.newer(newest, value)
                }
                // The record's text as the API wrote it (jsonb takes it as it is), else written again.
                let record = SourceRecord(id: page.ids[index], json: page.texts[index] ?? item.jsonText)
                pendingBytes += record.json.utf8.count
                pending.append(record)
            }
            // The API's order is unknown, so the cursor only moves once the whole stream is read.
            // The first batch goes at once, so that Postgres starts writing while the rest is read.
            if page.isLast || pending.count >= (emitted ? Self.batchSize : Self.firstBatchSize) || pendingBytes >= Self.batchBytes {
                try await emit(RecordBatch(records: pending, checkpoint: page.isLast ? newest.map(JSONValue.string) : nil))
                emitted = true
                pending = []
                pendingBytes = 0
            }
        }
        if !pending.isEmpty { try await emit(RecordBatch(records: pending, checkpoint: nil)) }
    }

    /// The most records, and bytes of their JSON, one stored batch holds (a transaction with its checkpoint).
    static let batchSize = 5000
    static let firstBatchSize = 500
    static let batchBytes = 16 << 20

    /// One page's records as `walk` hands them on.
    struct Page {
        var items: [JSONValue]
        /// Each record's primary key.
        var ids: [String]
        /// Each record's text as the API wrote it, where it can be stored as it is (with `keepingText`; else all nil).
        var texts: [String?]
        var isLast: Bool
    }

    /// Reads `path` page by page as `stream`'s pagination says, handing `handle` each page. A
    /// record without its key fails the read.
    func walk(
        _ stream: RestStream,
        path: String,
        query: [(String, String)],
        budget: inout PageBudget,
        keepingText: Bool = false,
        page handle: (Page) async throws -> Void
    ) async throws {
        let pointer = keepingText ? JSONPointer.tokens(stream.recordsPath) : nil
        // A record kept as text is read only for its key and cursor (whole, should the pagination
        // read its next link or cursor from within the records).
        let members = keepingText && !Self.paginationReadsRecords(stream) ? Set([stream.primaryKey] + (stream.cursorField.map { [$0] } ?? [])) : nil
        var pager = Pager(stream.pagination ?? .singlePage, http: http, path: path, query: query)
        var previousIDs: [String] = []
        // The next page is asked for as soon as its URL is known, and arrives while this one is
        // handed on: one request ahead, never past the page budget, cancelled if the read stops.
        // It is always the page of the URL `pager.next()` gives next.
        var ahead: Task<HTTPPage, any Error>?
        defer { ahead?.cancel() }
        while let url = pager.next() {
            try Task.checkCancellation()
            let page: HTTPPage
            if let fetching = ahead {
                ahead = nil
                // Its own task: a stop of this read (a sibling stream failed) must reach it.
                page = try await withTaskCancellationHandler {
                    try await fetching.value
                } onCancel: {
                    fetching.cancel()
                }
            } else {
                try budget.spend()
                page = try await http.get(url)
            }
            let (body, kept) = try ProviderHTTP.parse(page.body, url: url, keepingTextAt: pointer, members: members)
            guard let items = JSONPointer.resolve(stream.recordsPath, in: body)?.arrayValue else {
                let place = stream.recordsPath.isEmpty ? "the top level" : stream.recordsPath
                throw ConnectorError(
                    code: "malformed_response",
                    message: "\(ProviderHTTP.path(of: url)) answered no array at \(place)",
                    retryable: true
                )
            }
            let ids = try items.map { item in
                guard let id = Self.scalar(item[stream.primaryKey]) else {
                    throw ConnectorError(
                        code: "missing_primary_key",
                        message: "a record of \(ProviderHTTP.path(of: url)) has no \(stream.primaryKey)",
                        retryable: false
                    )
                }
                return id
            }
            // An API that ignores the offset or page parameter would otherwise be read until the page limit.
            if !ids.isEmpty, ids == previousIDs, pager.pagesByPosition {
                throw ConnectorError(
                    code: "pagination_not_advancing",
                    message: "\(ProviderHTTP.path(of: url)) answered the same page twice; check the stream's pagination parameters",
                    retryable: false
                )
            }
            previousIDs = ids
            try pager.advance(after: body, headers: page.headers, count: items.count, current: url)
            if let next = pager.upcoming, budget.hasPages {
                try budget.spend()
                let http = http
                ahead = Task { try await http.get(next) }
            }
            let texts = kept.flatMap { $0.count == items.count ? $0 : nil } ?? Array(repeating: nil, count: items.count)
            try await handle(Page(items: items, ids: ids, texts: texts, isLast: pager.isDone))
        }
    }

    /// Whether the stream's next link or cursor lies within its records array.
    static func paginationReadsRecords(_ stream: RestStream) -> Bool {
        let path: String
        switch stream.pagination {
        case .nextURL(let next)?: path = next.nextURLPath
        case .cursor(let cursor)?: path = cursor.nextCursorPath
        default: return false
        }
        let records = JSONPointer.tokens(stream.recordsPath)
        return JSONPointer.tokens(path).starts(with: records)
    }

    static func scalar(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .integer(let number)?: String(number)
        case .number(let number)?: number.rounded() == number && abs(number) < 9e15 ? String(Int64(number)) : String(number)
        default: nil
        }
    }
}
