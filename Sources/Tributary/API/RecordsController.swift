import Foundation
import Hummingbird
import TributaryConnectors

/// `…/integrations/{integration_id}/records`: what was synced, for the tenant's own systems,
/// oldest change first. The cursor is a position in the integration's modification order, so
/// reading to the end and resuming later from the last cursor yields exactly what changed since.
struct RecordsController {
    let store: Store

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get("records", use: list)
        return routes
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
        let records = try await store.records(
            integrationID: integration.id, stream: stream, afterSeq: after, modifiedAfter: modifiedAfter, limit: query.limit + 1)
        let page = Array(records.prefix(query.limit))
        // Never null: the position after the last record read is where to resume later.
        let position = page.last?.seq ?? after
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: Self.body(page, nextCursor: PageCursor.encode(.sequence(position)), hasMore: records.count > query.limit)))
    }

    /// Written by hand so that each record's JSON goes out exactly as the provider sent it.
    static func body(_ records: [StoredRecord], nextCursor: String, hasMore: Bool) -> ByteBuffer {
        let encoder = JSONCoding.encoder
        func json<T: Encodable>(_ value: T) -> String {
            (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "null"
        }
        var buffer = ByteBuffer(string: "{\"data\":[")
        for (index, record) in records.enumerated() {
            if index > 0 { buffer.writeString(",") }
            buffer.writeString("{\"id\":\(json(record.id)),\"stream\":\(json(record.stream)),\"data\":")
            buffer.writeString(record.data)
            buffer.writeString(",\"deleted\":\(record.deleted),\"first_seen_at\":\(json(record.firstSeenAt)),")
            buffer.writeString("\"last_modified_at\":\(json(record.lastModifiedAt))}")
        }
        buffer.writeString("],\"next_cursor\":\(json(nextCursor)),\"has_more\":\(hasMore)}")
        return buffer
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
