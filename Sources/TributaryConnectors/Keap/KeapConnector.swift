import Foundation
import Logging

/// Reads Keap's REST API v1. Contacts: incremental on `last_updated` through `since`/`until`,
/// ordered, resuming from the last timestamp seen. Emails: day by day from the cursor up to
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
            // Keap allows bursts of about 25 calls a second.
            limiter: RateLimiter(burst: 10, perSecond: 10),
            logger: context.logger,
            egress: context.egress,
            limits: context.limits
        )
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

    /// The cursor is `{"since": <timestamp>, "skip": n}`: `n` records at exactly `since` are stored.
    private func readContacts(_ request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        let start = Date(timeIntervalSinceNow: -Double(request.historicalSyncDays) * 86400)
        var since = request.cursor?["since"]?.stringValue.flatMap(Timestamps.parse) ?? start
        var skip = request.cursor?["skip"].flatMap { if case .number(let n) = $0 { Int(exactly: n.rounded()) } else { nil } } ?? 0
        skip = min(max(skip, 0), 1_000_000_000)
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: "contacts")
        let until = Date()
        while true {
            let url = http.url(
                "/v1/contacts",
                query: [
                    ("since", Timestamps.formatMilliseconds(since)), ("until", Timestamps.formatMilliseconds(until)), ("order", "last_updated"),
                    ("order_direction", "ASCENDING"), ("limit", String(Self.pageSize)), ("offset", String(skip)),
                ]
            )
            try budget.spend()
            let items = try await page(url, key: "contacts")
            guard !items.isEmpty else { break }
            var records: [SourceRecord] = []
            var lastSeen = since
            var atLast = 0
            for item in items {
                guard let id = Self.id(item) else { continue }
                records.append(SourceRecord(id: id, json: item.jsonText))
                guard let updated = item["last_updated"]?.stringValue.flatMap(Timestamps.parse) else { continue }
                if updated > lastSeen {
                    lastSeen = updated
                    atLast = 1
                } else if updated == lastSeen {
                    atLast += 1
                }
            }
            // Next page: from the newest timestamp, skipping the records at it already read.
            skip = lastSeen == since ? skip + atLast : atLast
            since = lastSeen
            try await emit(
                RecordBatch(records: records, checkpoint: ["since": .string(Timestamps.formatMilliseconds(since)), "skip": .number(Double(skip))])
            )
        }
        try await emit(RecordBatch(records: [], checkpoint: ["since": .string(Timestamps.formatMilliseconds(max(since, until))), "skip": 0]))
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
