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
        let integration = try await context.integration(in: store)
        let query = try ListQuery(request)
        let parameters = request.uri.queryParameters
        let stream = try integration.streamParameter(request)
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
            integrationID: integration.id,
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
        if count > 0 { buffer.writeString(",") }
        buffer.writeString("{\"id\":\(Self.json(record.id)),\"stream\":\(Self.json(record.stream)),\"data\":")
        buffer.writeString(record.data)
        buffer.writeString(",\"deleted\":\(record.deleted),\"first_seen_at\":\(Self.json(record.firstSeenAt)),")
        buffer.writeString("\"last_modified_at\":\(Self.json(record.lastModifiedAt))}")
        count += 1
        dataBytes += record.data.utf8.count
        position = record.seq
    }

    /// The whole body; `next_cursor` is never null: the position after the last record is where to resume.
    mutating func finish() -> ByteBuffer {
        buffer.writeString("],\"next_cursor\":\(Self.json(PageCursor.encode(.sequence(position)))),\"has_more\":\(hasMore)}")
        return buffer
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        (try? String(decoding: JSONCoding.encoder.encode(value), as: UTF8.self)) ?? "null"
    }
}

extension Integration {
    /// `?stream=`, when given, names one of the integration's streams; else 400.
    func streamParameter(_ request: Request) throws(APIError) -> String? {
        guard let stream = request.uri.queryParameters["stream"].map(String.init) else { return nil }
        guard streams.contains(stream) else {
            throw APIError.badQuery(field: "stream", "must be one of: \(streams.joined(separator: ", "))")
        }
        return stream
    }
}
