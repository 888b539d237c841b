import Foundation

/// Klaviyo's child streams, read parent by parent through `ChildStreams`: memberships (profiles of
/// each list or segment), flow actions (of each flow), flow messages (of each flow action) and
/// campaign messages (of each campaign).
///
/// Memberships are incremental per parent: the checkpoint keeps, for each list, the newest
/// `joined_group_at` stored, and the next read asks `greater-or-equal` it (which Get Profiles for
/// List/Segment offer, with `sort=joined_group_at`), so a profile joining later in that second is
/// read too. One cursor per parent, not one for the stream: a profile joining a list already read
/// while a later list is being read has an older `joined_group_at` than that later list's newest.
/// Every `membership_full_pass_days` a pass reads every list whole: begun at the first parent, it is
/// a complete pass and the engine tombstones the memberships it did not see (ended ones). A full
/// pass resumed after a crash is not complete (what the killed read saw is gone), so the next run
/// does the full pass again.
extension KlaviyoConnector {
    /// `{"parent": <id>, "cursors": {<parent id>: <joined_group_at>}, "full_pass_at": <timestamp>,
    /// "pass": "full" | "incremental", "pass_started_at": <timestamp>}`: the last two only mid-pass.
    enum MembershipField {
        static let cursors = "cursors"
        static let fullPassAt = "full_pass_at"
        static let pass = "pass"
        static let passStartedAt = "pass_started_at"
    }

    /// How often a membership pass reads every list whole (`membership_full_pass_days`; 0: every run).
    var fullPassDays: Int { min(max(context.int("membership_full_pass_days") ?? 7, 0), 3650) }

    func isCompletePass(_ request: StreamRequest) -> Bool {
        guard let stream = KlaviyoStream.named(request.stream.name), stream.parent != nil else {
            return request.stream.syncMode == .fullRefresh
        }
        let checkpoint = ChildCheckpoint(request.cursor)
        guard checkpoint.startsPass else { return false }
        return stream.cursorField == nil || fullPassDue(checkpoint.fields)
    }

    /// None yet, or the last began `fullPassDays` ago or more (or, the clock having gone back, after now).
    func fullPassDue(_ fields: [String: JSONValue]) -> Bool {
        guard let last = fields[MembershipField.fullPassAt]?.stringValue.flatMap(Timestamps.parse) else { return true }
        return last > startedAt || startedAt.timeIntervalSince(last) >= Double(fullPassDays) * 86400
    }

    func readChildren(
        _ stream: KlaviyoStream,
        of parent: KlaviyoStream.Parent,
        request: StreamRequest,
        budget: inout PageBudget,
        emit: (RecordBatch) async throws -> Void
    ) async throws {
        guard let parentStream = KlaviyoStream.named(parent.stream) else {
            throw ConnectorError(code: "unknown_stream", message: "klaviyo has no stream \(parent.stream)", retryable: false)
        }
        let parents = try await ids(of: parentStream, budget: &budget)
        var start = ChildCheckpoint(request.cursor)
        let startsPass = start.startsPass
        if parent.isMembership, startsPass {
            let due = fullPassDue(start.fields)
            start.fields[MembershipField.pass] = due ? "full" : "incremental"
            start.fields[MembershipField.passStartedAt] = .string(Timestamps.format(startedAt))
            // A full pass rebuilds every list's cursor from what it reads, so a bad value cannot outlive it.
            if due { start.fields[MembershipField.cursors] = .object([:]) }
        }
        // A provider's clock a little ahead is fine; a joined_group_at far in the future would stop the cursor.
        let latest = startedAt.addingTimeInterval(86400)
        let full = start.fields[MembershipField.pass]?.stringValue != "incremental"
        try await ChildStreams.read(
            parents: parents,
            from: start,
            emit: emit,
            children: { id, fields, emitChildren in
                var fields = fields
                var cursors = fields[MembershipField.cursors]?.objectValue ?? [:]
                var query = stream.pageSize.map { [("page[size]", String($0))] } ?? []
                if parent.isMembership {
                    let since = full ? nil : cursors[id]?.stringValue.flatMap(Timestamps.parse)
                    if let since { query.append(("filter", "greater-or-equal(joined_group_at,\(Timestamps.format(since)))")) }
                    query.append(("sort", "joined_group_at"))
                }
                try await walk(from: http.url(ChildStreams.path(parent.path, id: id), query: query), budget: &budget) { items, _ in
                    var records: [SourceRecord] = []
                    records.reserveCapacity(items.count)
                    for item in items {
                        guard let record = Self.child(item, of: id, parent) else { continue }
                        records.append(record)
                        if parent.isMembership, let joined = item["attributes"]?["joined_group_at"]?.stringValue,
                            let date = Timestamps.parse(joined), date <= latest
                        {
                            // Sorted by joined_group_at: everything up to this one is stored with the batch.
                            cursors[id] = .string(Self.later(cursors[id]?.stringValue, joined))
                        }
                    }
                    if parent.isMembership { fields[MembershipField.cursors] = .object(cursors) }
                    try await emitChildren(records, fields)
                }
                return fields
            },
            finished: { fields in
                var next = fields
                let started = next.removeValue(forKey: MembershipField.passStartedAt)
                let pass = next.removeValue(forKey: MembershipField.pass)?.stringValue
                if pass == "full", startsPass, let started { next[MembershipField.fullPassAt] = started }
                // Lists deleted since keep no cursor.
                if let cursors = next[MembershipField.cursors]?.objectValue {
                    let current = Set(parents)
                    next[MembershipField.cursors] = .object(cursors.filter { current.contains($0.key) })
                }
                return next
            }
        )
    }

    /// The ids of every record of `stream`, read whole (a child stream's over all its parents).
    func ids(of stream: KlaviyoStream, budget: inout PageBudget) async throws -> [String] {
        var ids: [String] = []
        if let parent = stream.parent, let grandparent = KlaviyoStream.named(parent.stream) {
            let size = stream.pageSize.map { [("page[size]", String($0))] } ?? []
            for id in ChildStreams.order(try await self.ids(of: grandparent, budget: &budget)) {
                try await walk(from: http.url(ChildStreams.path(parent.path, id: id), query: size), budget: &budget) { items, _ in
                    ids += items.compactMap { $0["id"]?.stringValue }
                }
            }
            return ids
        }
        for url in wholeURLs(stream) {
            try await walk(from: url, budget: &budget) { items, _ in ids += items.compactMap { $0["id"]?.stringValue } }
        }
        return ids
    }

    /// The record a child item is stored as: a membership as the pair, documented in the catalog
    /// (`list_id`/`segment_id`, `profile_id`, `joined_group_at`, and the profile's `email`,
    /// `phone_number`, `external_id` as Klaviyo gives them); anything else as Klaviyo returns it,
    /// with its parent's id beside (`flow_id`, `flow_action_id`, `campaign_id`).
    static func child(_ item: JSONValue, of parentID: String, _ parent: KlaviyoStream.Parent) -> SourceRecord? {
        guard let id = item["id"]?.stringValue else { return nil }
        guard parent.isMembership else {
            return SourceRecord(id: id, json: item.merging([parent.member: .string(parentID)]).jsonText)
        }
        let attributes = item["attributes"]
        let membership: JSONValue = .object([
            parent.member: .string(parentID),
            "profile_id": .string(id),
            "joined_group_at": attributes?["joined_group_at"] ?? .null,
            "email": attributes?["email"] ?? .null,
            "phone_number": attributes?["phone_number"] ?? .null,
            "external_id": attributes?["external_id"] ?? .null,
        ])
        return SourceRecord(id: ChildStreams.key(parent: parentID, child: id), json: membership.jsonText)
    }
}
