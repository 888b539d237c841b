import Foundation

/// `rest` child streams (`"parent": {"stream": …, "path": "/items/{id}/children"}`): the parent
/// stream is read whole for its primary keys, then each parent's children from `path` with `{id}`
/// that key as one path segment, resumably (`ChildStreams`). A child's record is stored as the API
/// returns it with `_parent_id` set to its parent's key, and keyed by parent and child key together:
/// an arbitrary API's child ids may be unique only within their parent.
extension RestConnector {
    func isCompletePass(_ request: StreamRequest) -> Bool {
        guard config.stream(named: request.stream.name)?.parent != nil else { return request.stream.syncMode == .fullRefresh }
        return ChildCheckpoint(request.cursor).startsPass
    }

    func readChildren(_ stream: RestStream, of parent: RestParent, request: StreamRequest, emit: (RecordBatch) async throws -> Void) async throws {
        var budget = PageBudget(limit: http.limits.maxPagesPerStream, stream: stream.name)
        let parents = try await ids(of: parent.stream, budget: &budget, depth: 0)
        try await ChildStreams.read(
            parents: parents,
            from: ChildCheckpoint(request.cursor),
            emit: emit,
            children: { id, fields, emitChildren in
                try await walk(stream, path: ChildStreams.path(parent.path, id: id), query: stream.fixedQuery, budget: &budget) { page in
                    let records = zip(page.items, page.ids).map { item, key in
                        SourceRecord(
                            id: ChildStreams.key(parent: id, child: key),
                            json: item.merging([RestStream.parentMember: .string(id)]).jsonText
                        )
                    }
                    try await emitChildren(records, fields)
                }
                return fields
            },
            finished: { $0 }
        )
    }

    /// The primary keys of every record of the stream `name`, read whole (a child stream's over all
    /// its parents). The config's rules forbid cycles; `depth` bounds the chain all the same.
    func ids(of name: String, budget: inout PageBudget, depth: Int) async throws -> [String] {
        guard let stream = config.stream(named: name), depth < RestConfig.maxParentDepth else {
            throw ConnectorError(code: "invalid_config", message: "config.streams has no parent stream \(name)", retryable: false)
        }
        var ids: [String] = []
        if let parent = stream.parent {
            for id in ChildStreams.order(try await self.ids(of: parent.stream, budget: &budget, depth: depth + 1)) {
                try await walk(stream, path: ChildStreams.path(parent.path, id: id), query: stream.fixedQuery, budget: &budget) { page in
                    ids += page.ids  // the path names a parent by its own key
                }
            }
            return ids
        }
        try await walk(stream, path: stream.path, query: stream.fixedQuery, budget: &budget) { page in ids += page.ids }
        return ids
    }
}
