import Foundation
import Logging

/// Reads Keap's REST API v1. Contacts: incremental on `last_updated` through `since`, ordered,
/// resuming from (and re-reading) the second of the last timestamp seen. Emails: day by day from the cursor up to
/// yesterday (UTC), each day paged by offset and checkpointed once complete — never a partial
/// today. Keap's `next` link is present even on the last page, so reading stops on an empty page.
struct KeapConnector: Connector {
    let context: ConnectorContext
    var http: ProviderHTTP
    static let pageSize = 1000

    init(context: ConnectorContext) throws {
        self.context = context
        self.http = try ProviderHTTP(
            baseURL: context.string("base_url") ?? KeapProvider.baseURL,
            credential: context.credential,
            keyPlacement: .header("X-Keap-API-Key"),
            limiter: RateLimiter(.uniform(Self.rateLimit(context.credential))),
            logger: context.logger,
            egress: context.egress,
            limits: context.limits
        )
    }

    /// Keap's throttles ("Throttles and Quotas"): a personal access token or service account key
    /// 10 queries/s and 240/min; an OAuth client 1500/min, under the 25/s spike policy every caller has.
    /// (Their daily quotas, 30,000 and 150,000, are beyond what one run asks.)
    static func rateLimit(_ credential: ConnectorCredential) -> RateLimit {
        if case .oauth2 = credential { return RateLimit(perSecond: 25, perMinute: 1500) }
        return RateLimit(perSecond: 10, perMinute: 240)
    }

    func check() async throws {
        _ = try await http.getJSON(http.url("/v1/contacts", query: [("limit", "1")]))
    }

    func read(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        switch request.stream.name {
        case "contacts": try await readContacts(request, emit: emit)
        case "emails": try await readEmails(request, emit: emit)
        default: throw ConnectorError(code: "unknown_stream", message: "keap has no stream \(request.stream.name)", retryable: false)
        }
    }

    /// The cursor is `{"since": <timestamp>}`: every contact last updated before it is stored.
    /// Keap keeps whole seconds, so a contact edited later in the checkpoint's second carries the
    /// checkpoint's value: each request asks from one second below the boundary (whether Keap's
    /// `since` is inclusive is not documented; this way it does not matter) and ids already read
    /// this run at the same `last_updated` are dropped, so the boundary is re-read across runs,
    /// never twice within one. The cursor is the newest `last_updated` read, Keap's clock, never
    /// ours. (A `skip` left in an older cursor is ignored: those contacts are read again.)
    private func readContacts(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        let start = Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400)
        var boundary = request.cursor?["since"]?.stringValue.flatMap(Timestamps.parse) ?? start
        var seen: [String: Date] = [:]  // read this run at or after a second below the boundary
        var offset = 0  // only while whole pages share the boundary's second
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: "contacts")
        while true {
            let from = Date(timeIntervalSince1970: (boundary.timeIntervalSince1970 - 1).rounded(.down))
            let url = http.url(
                "/v1/contacts",
                query: [
                    ("since", Timestamps.formatMilliseconds(from)), ("order", "last_updated"), ("order_direction", "ASCENDING"),
                    ("limit", String(Self.pageSize)), ("offset", String(offset)),
                ]
            )
            try budget.spend()
            let items = try await page(url, key: "contacts")
            guard !items.isEmpty else { break }
            var records: [SourceRecord] = []
            var newest = boundary
            for item in items {
                guard let id = Self.id(item) else { continue }
                let updated = item["last_updated"]?.stringValue.flatMap(Timestamps.parse)
                if let updated {
                    if seen[id] == updated { continue }
                    seen[id] = updated
                    newest = max(newest, updated)
                }
                records.append(SourceRecord(id: id, json: item.jsonText))
            }
            if newest > boundary {
                boundary = newest
                offset = 0
                let floor = boundary.addingTimeInterval(-1)
                seen = seen.filter { $0.value >= floor }
            } else {
                // A page entirely at or below the boundary: move on through it by offset.
                offset += items.count
            }
            try await emit(RecordBatch(records: records, checkpoint: ["since": .string(Timestamps.formatMilliseconds(boundary))]))
        }
    }

    /// The cursor is `{"day": "YYYY-MM-DD"}`: the first day not yet read.
    private func readEmails(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        let calendar = Self.utcCalendar
        let today = calendar.startOfDay(for: Date())
        var day =
            request.cursor?["day"]?.stringValue.flatMap { Timestamps.parse($0 + "T00:00:00Z") }
            ?? calendar.startOfDay(for: Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400))
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: "emails")
        while day < today {
            let next = calendar.date(byAdding: .day, value: 1, to: day) ?? today
            var offset = 0
            while true {
                let url = http.url(
                    "/v1/emails",
                    query: [
                        ("since_sent_date", Timestamps.format(day)), ("until_sent_date", Timestamps.format(next)),
                        ("limit", String(Self.pageSize)), ("offset", String(offset)),
                    ]
                )
                try budget.spend()
                let items = try await page(url, key: "emails")
                if items.isEmpty { break }
                let records = items.compactMap { item in Self.id(item).map { SourceRecord(id: $0, json: item.jsonText) } }
                try await emit(RecordBatch(records: records, checkpoint: nil))
                offset += items.count
            }
            day = next
            try await emit(RecordBatch(records: [], checkpoint: ["day": .string(Timestamps.day(day))]))
        }
    }

    private func page(_ url: String, key: String) async throws -> [JSONValue] {
        let body = try await http.getJSON(url)
        guard let items = body[key]?.arrayValue else {
            throw ConnectorError(code: "malformed_response", message: "\(ProviderHTTP.path(of: url)) answered without \(key)", retryable: true)
        }
        return items
    }

    static func id(_ item: JSONValue) -> String? {
        switch item["id"] {
        case .integer(let value)?: String(value)
        case .number(let value)?: value.rounded() == value && abs(value) < 9e15 ? String(Int64(value)) : String(value)
        case .string(let value)?: value
        default: nil
        }
    }

    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()
}
