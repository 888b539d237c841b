/// Where a child stream's pass stands, as its checkpoint (a JSON object) keeps it: the parent the
/// pass is on (nil: the next read starts a new pass at the first parent) and the connector's own
/// members beside it (a per-parent cursor, when the last full pass ran).
public struct ChildCheckpoint: Sendable, Equatable {
    static let parentKey = "parent"

    public var parent: String?
    public var fields: [String: JSONValue]

    public init(parent: String? = nil, fields: [String: JSONValue] = [:]) {
        self.parent = parent
        self.fields = fields
    }

    /// The checkpoint a stored cursor holds; anything but an object starts afresh.
    public init(_ cursor: JSONValue?) {
        guard case .object(var members)? = cursor else {
            self.init()
            return
        }
        let parent = members.removeValue(forKey: Self.parentKey)?.stringValue
        self.init(parent: parent, fields: members)
    }

    /// A read from here reads every parent's children: it starts at the first.
    public var startsPass: Bool { parent == nil }

    public var json: JSONValue {
        var members = fields
        if let parent { members[Self.parentKey] = .string(parent) }
        return .object(members)
    }
}

/// Reading a child stream: each parent's children, parent after parent in a stable order, so that
/// a read cut short (a killed run-task, a failed request) resumes at the parent it was on. Every
/// batch's checkpoint names that parent; the pass's last batch names none.
public enum ChildStreams {
    /// The parents' ids in the order a pass reads them (by their UTF-8 bytes, each once) from
    /// `parent` on. The provider's own order is not relied on; a parent gone since the checkpoint
    /// resumes at the next one after it.
    public static func order(_ ids: [String], from parent: String? = nil) -> [String] {
        let sorted = Set(ids).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard let parent else { return sorted }
        return sorted.filter { !$0.utf8.lexicographicallyPrecedes(parent.utf8) }
    }

    /// A child's record id unique across parents, for providers whose child ids are unique only
    /// within a parent: both ids joined by `:`, with `%` and `:` percent-encoded in each, so no
    /// two (parent, child) pairs share one.
    public static func key(parent: String, child: String) -> String {
        escape(parent) + ":" + escape(child)
    }

    /// `template` with `{id}` replaced by `id` as one path segment: every byte but letters, digits,
    /// `-`, `_` and `~` percent-encoded (`.` too, so `..` cannot climb), so that no id (`../`, `?`,
    /// `#`, `/`) changes the path it is put in.
    public static func path(_ template: String, id: String) -> String {
        template.replacingOccurrences(of: "{id}", with: ProviderHTTP.encode(id).replacingOccurrences(of: ".", with: "%2E"))
    }

    private static func escape(_ id: String) -> String {
        id.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: ":", with: "%3A")
    }

    /// Reads the pass `checkpoint` is in, from its parent on. `children` reads one parent's
    /// children from the connector's fields and emits them batch by batch with the fields that are
    /// true once the batch is stored; it returns the fields after that parent. `finished` turns
    /// the last fields into the next pass's, stored by one last batch (no records) without a parent.
    public static func read(
        parents: [String],
        from checkpoint: ChildCheckpoint,
        emit: (RecordBatch) async throws -> Void,
        children: (_ parent: String, _ fields: [String: JSONValue], _ emit: ([SourceRecord], [String: JSONValue]) async throws -> Void)
            async throws -> [String: JSONValue],
        finished: ([String: JSONValue]) -> [String: JSONValue]
    ) async throws {
        var fields = checkpoint.fields
        // `emit` is called only while this read runs; Swift cannot tell, handing it to `children`.
        try await withoutActuallyEscaping(emit) { emit in
            for parent in order(parents, from: checkpoint.parent) {
                fields = try await children(parent, fields) { records, after in
                    try await emit(RecordBatch(records: records, checkpoint: ChildCheckpoint(parent: parent, fields: after).json))
                }
            }
        }
        try await emit(RecordBatch(records: [], checkpoint: ChildCheckpoint(fields: finished(fields)).json))
    }
}
