/// One Klaviyo endpoint the connector reads, and the catalog's stream of the same name: its
/// largest page, the field it filters and sorts on (none: read whole each run), (campaigns) the
/// channels the API insists on filtering by, and (child streams) the parent it is read under.
struct KlaviyoStream: Sendable {
    var name: String
    var pageSize: Int?
    var cursorField: String?
    var channels: [String] = []
    var parent: Parent?

    /// A stream read parent by parent (`ChildStreams`): `path` with `{id}` the parent's id.
    struct Parent: Sendable {
        /// The stream whose records are the parents (itself perhaps a child stream).
        var stream: String
        var path: String
        /// The member naming the parent in each stored record (`list_id`, `flow_id`).
        var member: String
        /// Memberships: a record is the pair (parent, profile), keyed by both; otherwise the child's
        /// own id, unique across parents at Klaviyo, is the key.
        var isMembership = false
    }

    var path: String { "/api/\(name)/" }

    var primaryKey: [String] {
        parent.map { $0.isMembership ? [$0.member, "profile_id"] : ["id"] } ?? ["id"]
    }

    var descriptor: StreamDescriptor {
        StreamDescriptor(name: name, primaryKey: primaryKey, cursorField: cursorField)
    }

    /// The streams, in the catalog's order. Page sizes are each endpoint's documented maximum at
    /// revision 2026-07-15 (Get Messages for Campaign does not page).
    static let all: [KlaviyoStream] = [
        KlaviyoStream(name: "profiles", pageSize: 100, cursorField: "updated"),
        KlaviyoStream(name: "events", pageSize: 1000, cursorField: "datetime"),
        KlaviyoStream(name: "metrics", pageSize: nil, cursorField: nil),
        KlaviyoStream(name: "lists", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "segments", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "flows", pageSize: 50, cursorField: "updated"),
        KlaviyoStream(name: "templates", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "campaigns", pageSize: 100, cursorField: nil, channels: ["email", "sms"]),
        KlaviyoStream(
            name: "list_memberships",
            pageSize: 100,
            cursorField: "joined_group_at",
            parent: Parent(stream: "lists", path: "/api/lists/{id}/profiles/", member: "list_id", isMembership: true)
        ),
        KlaviyoStream(
            name: "segment_memberships",
            pageSize: 100,
            cursorField: "joined_group_at",
            parent: Parent(stream: "segments", path: "/api/segments/{id}/profiles/", member: "segment_id", isMembership: true)
        ),
        KlaviyoStream(name: "flow_actions", pageSize: 50, parent: Parent(stream: "flows", path: "/api/flows/{id}/flow-actions/", member: "flow_id")),
        KlaviyoStream(
            name: "flow_messages",
            pageSize: 50,
            parent: Parent(stream: "flow_actions", path: "/api/flow-actions/{id}/flow-messages/", member: "flow_action_id")
        ),
        KlaviyoStream(
            name: "campaign_messages",
            parent: Parent(stream: "campaigns", path: "/api/campaigns/{id}/campaign-messages/", member: "campaign_id")
        ),
    ]

    static func named(_ name: String) -> KlaviyoStream? {
        all.first { $0.name == name }
    }
}
