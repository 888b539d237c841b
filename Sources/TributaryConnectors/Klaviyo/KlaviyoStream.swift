/// One Klaviyo endpoint the connector reads, and the catalog's stream of the same name: its
/// largest page, the field it filters and sorts on (none: read whole each run), and (campaigns)
/// the channels the API insists on filtering by.
struct KlaviyoStream: Sendable {
    var name: String
    var pageSize: Int?
    var cursorField: String?
    var channels: [String] = []

    var path: String { "/api/\(name)/" }

    var descriptor: StreamDescriptor {
        StreamDescriptor(name: name, primaryKey: ["id"], cursorField: cursorField)
    }

    /// The streams, in the catalog's order.
    static let all: [KlaviyoStream] = [
        KlaviyoStream(name: "profiles", pageSize: 100, cursorField: "updated"),
        KlaviyoStream(name: "events", pageSize: 1000, cursorField: "datetime"),
        KlaviyoStream(name: "metrics", pageSize: nil, cursorField: nil),
        KlaviyoStream(name: "lists", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "segments", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "flows", pageSize: 50, cursorField: "updated"),
        KlaviyoStream(name: "templates", pageSize: 10, cursorField: "updated"),
        KlaviyoStream(name: "campaigns", pageSize: 100, cursorField: nil, channels: ["email", "sms"]),
    ]

    static func named(_ name: String) -> KlaviyoStream? {
        all.first { $0.name == name }
    }
}
