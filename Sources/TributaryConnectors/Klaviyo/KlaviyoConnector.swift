import Foundation
import Logging

/// Reads Klaviyo's JSON:API: pages followed through `links.next` with the largest `page[size]`
/// each endpoint allows; incremental streams filter `greater-than(<field>,<cursor − 1 s>)` sorted
/// by that field; records stored as Klaviyo returns them (`type`, `id`, `attributes`, `relationships`).
///
/// Klaviyo keeps whole seconds, so a record changed later in the checkpoint's second carries the
/// checkpoint's value: the read starts one second below it, which re-reads that second (unchanged
/// records are not rewritten). `greater-or-equal` would say the same, but Get Profiles, Get Lists
/// and Get Segments offer only `greater-than` on their cursor fields. (The membership streams,
/// whose endpoints do offer it, ask `greater-or-equal`: `KlaviyoConnector+Children`.)
struct KlaviyoConnector: Connector {
    let context: ConnectorContext
    var http: ProviderHTTP
    /// The run's clock for deciding whether a membership pass is a full one: one instant, so that
    /// `isCompletePass` and `read` cannot decide differently.
    let startedAt = Date()

    static let revision = "2026-07-15"

    init(context: ConnectorContext) throws {
        self.context = context
        self.http = try ProviderHTTP(
            baseURL: context.string("base_url") ?? KlaviyoProvider.baseURL,
            credential: context.credential,
            keyPlacement: .header("Authorization", prefix: "Klaviyo-API-Key "),
            extraHeaders: [("revision", Self.revision), ("Accept", "application/vnd.api+json")],
            limiter: RateLimiter(KlaviyoRateLimits.policy),
            logger: context.logger,
            egress: context.egress,
            limits: context.limits
        )
    }

    func check() async throws {
        _ = try await http.getJSON(http.url("/api/metrics/"))
    }

    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        guard let stream = KlaviyoStream.named(request.stream.name) else {
            throw ConnectorError(code: "unknown_stream", message: "klaviyo has no stream \(request.stream.name)", retryable: false)
        }
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: stream.name)
        if let parent = stream.parent {
            try await readChildren(stream, of: parent, request: request, budget: &budget, emit: emit)
        } else if let field = stream.cursorField {
            let since =
                request.cursor?.stringValue
                ?? Timestamps.format(Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400))
            let boundary = Timestamps.parse(since) ?? Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400)
            // Whole seconds, rounded down: the filter must not land above the boundary.
            let below = Timestamps.format(Date(timeIntervalSince1970: (boundary.timeIntervalSince1970 - 1).rounded(.down)))
            var query = [("filter", "greater-than(\(field),\(below))"), ("sort", field)]
            if let size = stream.pageSize { query.append(("page[size]", String(size))) }
            try await readPages(from: http.url(stream.path, query: query), cursorField: field, cursor: since, budget: &budget, emit: emit)
        } else {
            for url in wholeURLs(stream) {
                try await readPages(from: url, cursorField: nil, cursor: nil, budget: &budget, emit: emit)
            }
        }
    }

    /// The first pages of a whole read of a stream that has no parent: one per channel where the API insists.
    func wholeURLs(_ stream: KlaviyoStream) -> [String] {
        let size = stream.pageSize.map { [("page[size]", String($0))] } ?? []
        guard !stream.channels.isEmpty else { return [http.url(stream.path, query: size)] }
        return stream.channels.map { http.url(stream.path, query: [("filter", "equals(messages.channel,'\($0)')")] + size) }
    }

    /// Follows `links.next` from `first`, handing each page's `data` to `body` (and whether more follow).
    func walk(from first: String, budget: inout PageBudget, page body: ([JSONValue], _ more: Bool) async throws -> Void) async throws {
        var next: String? = first
        while let url = next {
            try budget.spend()
            let page = try await http.getJSON(url)
            guard let items = page["data"]?.arrayValue else {
                throw ConnectorError(
                    code: "malformed_response",
                    message: "\(ProviderHTTP.path(of: url)) answered without a data array",
                    retryable: true
                )
            }
            next = try page["links"]?["next"]?.stringValue.map { try http.follow($0, from: url) }
            try await body(items, next != nil)
        }
    }

    /// Follows `links.next` from `first`. Each page's checkpoint is the newest cursor value that
    /// no later page can still hold (records sharing the page's last value may continue on the next
    /// page, so that value waits until the stream ends).
    private func readPages(
        from first: String,
        cursorField: String?,
        cursor: String?,
        budget: inout PageBudget,
        emit: (RecordBatch) async throws -> Void
    ) async throws {
        var safe = cursor
        var newest = cursor
        try await walk(from: first, budget: &budget) { items, more in
            var records: [SourceRecord] = []
            records.reserveCapacity(items.count)
            var values: [String] = []
            for item in items {
                guard let id = item["id"]?.stringValue else { continue }
                records.append(SourceRecord(id: id, json: item.jsonText))
                if let cursorField, let value = item["attributes"]?[cursorField]?.stringValue { values.append(value) }
            }
            if let last = values.last {
                if let before = values.last(where: { $0 != last }) { safe = Self.later(safe, before) }
                newest = Self.later(newest, last)
            }
            let checkpoint: JSONValue? = cursorField == nil ? nil : (more ? safe : newest).map(JSONValue.string)
            try await emit(RecordBatch(records: records, checkpoint: checkpoint))
        }
    }

    /// The later of two timestamps (as dates; text order breaks on differing offsets).
    static func later(_ a: String?, _ b: String) -> String {
        guard let a, let dateA = Timestamps.parse(a) else { return b }
        guard let dateB = Timestamps.parse(b) else { return a }
        return dateB > dateA ? b : a
    }
}
