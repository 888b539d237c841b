import Foundation
import Hummingbird
import TributaryConnectors

/// `…/integrations/{integration_id}/records`: what was synced, for the tenant's own systems,
/// oldest change first. The cursor is a position in the integration's modification order, so
/// reading to the end and resuming later from the last cursor yields exactly what changed since.
struct RecordsController {
    let store: Store
    /// Bytes of record JSON a page holds at most; a page always holds at least one record.
    let pageBytes: Int

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get("records", use: list)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        // Only the integration's streams: a page is read far more often than the integration.
        let tenantID = try context.tenantID()
        let integrationID = try context.uuidParameter("integration_id", "integration")
        guard let streams = try await store.integrationStreams(tenantID: tenantID, id: integrationID) else {
            throw APIError.notFound("no such integration")
        }
        let query = try ListQuery(request)
        let parameters = request.uri.queryParameters
        let stream = try Integration.streamParameter(request, streams: streams)
        var modifiedAfter: Date?
        if let text = parameters["modified_after"].map(String.init) {
            guard let date = Timestamps.parse(text) else {
                throw APIError.badQuery(field: "modified_after", "must be an RFC 3339 timestamp")
            }
            modifiedAfter = date
        }
        let after = try query.sequence() ?? 0
        var page = RecordsPage(after: after)
        try await store.forEachRecord(
            integrationID: integrationID,
            stream: stream,
            afterSeq: after,
            modifiedAfter: modifiedAfter,
            limit: query.limit + 1
        ) { record in
            guard page.count < query.limit, page.count == 0 || page.dataBytes + record.data.utf8.count <= pageBytes else {
                page.hasMore = true
                return false
            }
            page.append(record)
            return true
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: page.finish()))
    }
}

/// A records page written as its rows arrive, so that each record's JSON goes out exactly as the
/// provider sent it (no decoding and re-encoding) and no page is held twice.
struct RecordsPage {
    private var buffer = ByteBuffer(string: "{\"data\":[")
    private(set) var count = 0
    private(set) var dataBytes = 0
    /// Where to resume: after the last record written, or where the page started.
    private(set) var position: Int64
    var hasMore = false

    init(after: Int64) {
        self.position = after
    }

    mutating func append(_ record: StoredRecord) {
        if count > 0 { buffer.writeStaticString(",") }
        buffer.writeStaticString("{\"id\":")
        buffer.writeJSONString(record.id)
        buffer.writeStaticString(",\"stream\":")
        buffer.writeJSONString(record.stream)
        buffer.writeStaticString(",\"data\":")
        buffer.writeString(record.data)
        buffer.writeStaticString(record.deleted ? ",\"deleted\":true" : ",\"deleted\":false")
        buffer.writeStaticString(",\"first_seen_at\":")
        buffer.writeJSONTimestamp(record.firstSeenAt)
        buffer.writeStaticString(",\"last_modified_at\":")
        buffer.writeJSONTimestamp(record.lastModifiedAt)
        buffer.writeStaticString("}")
        count += 1
        dataBytes += record.data.utf8.count
        position = record.seq
    }

    /// The whole body; `next_cursor` is never null: the position after the last record is where to resume.
    mutating func finish() -> ByteBuffer {
        buffer.writeStaticString("],\"next_cursor\":")
        buffer.writeJSONString(PageCursor.encode(.sequence(position)))
        buffer.writeStaticString(hasMore ? ",\"has_more\":true}" : ",\"has_more\":false}")
        return buffer
    }
}

extension Integration {
    /// `?stream=`, when given, names one of the integration's streams; else 400.
    func streamParameter(_ request: Request) throws(APIError) -> String? {
        try Self.streamParameter(request, streams: streams)
    }

    static func streamParameter(_ request: Request, streams: [String]) throws(APIError) -> String? {
        guard let stream = request.uri.queryParameters["stream"].map(String.init) else { return nil }
        guard streams.contains(stream) else {
            throw APIError.badQuery(field: "stream", "must be one of: \(streams.joined(separator: ", "))")
        }
        return stream
    }
}
