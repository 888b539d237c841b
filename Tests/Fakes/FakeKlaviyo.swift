import Foundation
import Hummingbird
import TributaryConnectors

/// Klaviyo's JSON:API REST API (`https://a.klaviyo.com/api`) as revision 2024-10-15 documents it, for connector tests:
/// private-key or OAuth bearer auth, a required `revision` header, cursor pagination with absolute `links.next`,
/// `filter` / `sort` with each endpoint's own fields and operators, and JSON:API error bodies.
///
/// Facts checked against Klaviyo's docs and the SDKs generated from its OpenAPI spec (klaviyo-api-python 14.0.0 is
/// revision 2024-10-15):
/// - Only Get Profiles (default 20, max 100) and Get Flows (default 50, max 50) take `page[size]` at 2024-10-15.
/// - Get Events answers 200 a page and takes no `page[size]` ("Returns a maximum of 200 events per page"). Revision
///   2026-01-15 added `page[size]` to Get Events (default 200, max 1000; the SDKs' 2026-01-15 release notes).
/// - Get Metrics answers 200 a page and never takes `page[size]`. Get Lists, Get Segments and Get Templates answer 10
///   a page, Get Campaigns about 10; none takes `page[size]` at 2024-10-15 (Get Lists still didn't at 2025-04-15).
///   The spec has it, max 10 (campaigns: default and max 100), by 2026-04-15 for lists and templates and by
///   2026-07-15 for segments and campaigns: the fake accepts it from those revisions on (they may be later than
///   Klaviyo's real introduction, never earlier).
/// - Klaviyo refuses a query parameter an endpoint doesn't know (400, "'x' is not an allowed query parameter.").
/// - Filter operators on the cursor fields: profiles `updated`/`created`: greater-than, less-than; events
///   `datetime`/`timestamp`: greater-or-equal, greater-than, less-or-equal, less-than; lists and segments
///   `updated`/`created`: greater-than only; flows and templates `updated`/`created`: equals, greater-or-equal,
///   greater-than, less-or-equal, less-than; campaigns `updated_at`/`created_at`/`scheduled_at`: the four range
///   operators, and `equals(messages.channel,'email'|'sms')`, which Get Campaigns requires. Several filters are
///   joined by commas at the top level (implicit and) or with `and(…)`.
/// - Campaigns name their timestamps `created_at`/`updated_at` (the others say `created`/`updated`); a campaign seeded
///   with "updated" is filtered and sorted on it under the name `updated_at`.
public actor FakeKlaviyo {
    /// The private key it accepts; `replaceKey(with:)` revokes it for another, as the account's owner would.
    public private(set) var apiKey: String
    /// Every request received, as "GET /api/profiles?<query exactly as received>", in order.
    public private(set) var requests: [String] = []
    public var requestCount: Int { requests.count }

    private var resources: [String: [String: Resource]] = [:]  // type → id → resource
    private var bearers: Set<String> = []
    private var pendingFailures: [Failure] = []
    private var pendingMalformed = 0
    /// Child resources (see `FakeKlaviyo+Children`): "lists"/"segments" → group id → profile id → joined_group_at,
    /// and child type ("flow-action", …) → parent id → id → resource; each child answer waits `childDelay` first.
    private var memberships: [String: [String: [String: String]]] = [:]
    private var childResources: [String: [String: [String: Resource]]] = [:]
    private var childDelay: Duration = .zero
    private var failingParents: [String: Int] = [:]

    /// Per-endpoint fixed-window limits in front of every route (nil: none).
    public nonisolated let limits: FixedWindowLimits?

    public init(apiKey: String = "pk_test_fake", limits: FixedWindowLimits? = nil) {
        self.apiKey = apiKey
        self.limits = limits
    }

    public func add(type: String, id: String, attributes: [String: JSONValue], channel: String? = nil) {
        resources[type, default: [:]][id] = Resource(id: id, attributes: Self.wholeSeconds(attributes), channel: channel)
    }

    /// Replaces a resource's attributes, keeping its channel; a resource not yet stored is added.
    public func update(type: String, id: String, attributes: [String: JSONValue]) {
        let channel = resources[type]?[id]?.channel
        resources[type, default: [:]][id] = Resource(id: id, attributes: Self.wholeSeconds(attributes), channel: channel)
    }

    /// The timestamp attributes as Klaviyo keeps and writes them: whole seconds, `+00:00`
    /// ("updated": "2022-11-08T00:00:00+00:00" in every example of its API reference), so that
    /// two changes within one second carry the same value, as at Klaviyo.
    private static let timestampFields: Set<String> = ["created", "updated", "datetime", "created_at", "updated_at", "scheduled_at"]

    private static func wholeSeconds(_ attributes: [String: JSONValue]) -> [String: JSONValue] {
        var result = attributes
        for (key, value) in attributes where timestampFields.contains(key) {
            guard case .string(let text) = value, let date = parseDate(text) else { continue }
            let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
            result[key] = .string(String(Timestamps.format(whole).dropLast()) + "+00:00")
        }
        return result
    }

    /// The next `count` requests answer `status`. A 429 carries `Retry-After` when `retryAfterSeconds` is given.
    public func failNext(_ count: Int, status: Int, retryAfterSeconds: Int? = nil) {
        pendingFailures += Array(repeating: Failure(status: status, retryAfter: retryAfterSeconds), count: max(0, count))
    }

    public func malformNext() { pendingMalformed += 1 }
    public func acceptBearer(_ token: String) { bearers.insert(token) }
    /// Revokes the private key in use; only `newKey` is accepted from now on.
    public func replaceKey(with newKey: String) { apiKey = newKey }
    public func revokeBearers() { bearers.removeAll() }

    public nonisolated var router: Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let limits { router.add(middleware: FixedWindowLimits.Middleware(limits)) }
        // One catch-all route, so unknown paths get Klaviyo's JSON:API 404 rather than Hummingbird's empty one.
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method) { request, _ in await self.respond(to: request) }
        }
        return router
    }

    // MARK: - Request handling

    private func respond(to request: Request) -> Response {
        let path = request.uri.path
        requests.append("\(request.method.rawValue) \(path)" + (request.uri.query.map { "?\($0)" } ?? ""))

        if !pendingFailures.isEmpty { return Self.failure(pendingFailures.removeFirst()) }
        if pendingMalformed > 0 {
            pendingMalformed -= 1
            return Response(
                status: .ok,
                headers: [.contentType: Self.jsonAPI],
                body: .init(byteBuffer: ByteBuffer(string: #"{"data":[{"type":"profile","id":"01"#))
            )
        }

        // Routing comes first, as in Klaviyo's URL resolver: an unknown path is 404 whatever the credentials.
        let parts = path.split(separator: "/").map(String.init)
        if let route = Self.childRoute(parts) { return respondChild(route, parts: parts, request: request) }
        guard parts.count == 2 || parts.count == 3, parts[0] == "api", let endpoint = Self.endpoints[parts[1]] else {
            return Self.error(404, code: "not_found", title: "Not found.", detail: "Not found.")
        }
        if let denied = authenticate(request) { return denied }
        guard let rawRevision = request.headers.first(where: { $0.name.canonicalName == "revision" })?.value else {
            return Self.error(
                400,
                code: "invalid",
                title: "Invalid input.",
                detail: "Missing revision header. Every request needs a `revision` header with a date, e.g. revision: 2024-10-15."
            )
        }
        guard let revision = Self.revisionDate(rawRevision) else {
            return Self.error(
                400,
                code: "invalid",
                title: "Invalid input.",
                detail: "Invalid revision header '\(rawRevision)'; expected the format YYYY-MM-DD[.suffix]."
            )
        }
        guard request.method == .get else {
            return Self.error(
                405,
                code: "method_not_allowed",
                title: "Method not allowed.",
                detail: "Method \"\(request.method.rawValue)\" not allowed."
            )
        }
        let base = "http://\(request.head.authority ?? "127.0.0.1")"
        if parts.count == 3 {
            guard let resource = resources[endpoint.type]?[parts[2]] else {
                return Self.error(404, code: "not_found", title: "Not found.", detail: "Not found.")
            }
            return Self.json(200, .object(["data": Self.item(resource, endpoint, base: base)]))
        }
        return list(endpoint, request: request, revision: revision, base: base)
    }

    private func authenticate(_ request: Request) -> Response? {
        let header = request.headers[.authorization]?.trimmingCharacters(in: .whitespaces) ?? ""
        if header.hasPrefix("Klaviyo-API-Key ") {
            if header.dropFirst("Klaviyo-API-Key ".count).trimmingCharacters(in: .whitespaces) == apiKey { return nil }
            return Self.error(
                401,
                code: "not_authenticated",
                title: "Incorrect authentication credentials.",
                detail: "Missing or invalid private key."
            )
        }
        if header.lowercased().hasPrefix("bearer ") {
            if bearers.contains(header.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)) { return nil }
            return Self.error(
                401,
                code: "not_authenticated",
                title: "Incorrect authentication credentials.",
                detail: "Invalid or expired access token."
            )
        }
        return Self.error(
            401,
            code: "not_authenticated",
            title: "Authentication credentials were not provided.",
            detail: "Missing or invalid authorization scheme. Please use Klaviyo-API-Key."
        )
    }

    private func list(_ endpoint: Endpoint, request: Request, revision: String, base: String) -> Response {
        let params = Self.queryItems(request.uri.query)
        let paging = endpoint.paging(revision: revision)
        if let unknown = params.first(where: { !endpoint.allows($0.key, pageSizeAccepted: paging.max != nil) }) {
            return Self.invalid("'\(unknown.key)' is not an allowed query parameter.", parameter: unknown.key)
        }
        func value(_ key: String) -> String? { params.last(where: { $0.key == key })?.value }

        let size: Int
        let offset: Int
        switch Self.page(value, size: paging.size, maximum: paging.max) {
        case .success(let page): (size, offset) = page
        case .failure(let refusal): return refusal.response
        }

        var conditions: [Condition] = []
        if let raw = value("filter") {
            guard let parsed = Self.parseFilter(raw) else { return Self.invalid("Invalid filter provided.", parameter: "filter") }
            for condition in parsed {
                if let operators = endpoint.dateFilters[condition.field] {
                    guard operators.contains(condition.op) else {
                        return Self.invalid(
                            "'\(condition.op)' is not a valid operator for field '\(condition.field)'. Allowed: "
                                + operators.sorted().joined(separator: ", ") + ".",
                            parameter: "filter"
                        )
                    }
                    guard Self.parseDate(condition.value) != nil else {
                        return Self.invalid("'\(condition.value)' is not a valid datetime for '\(condition.field)'.", parameter: "filter")
                    }
                } else if condition.op != "equals" || !endpoint.equalsFields.contains(condition.field) {
                    return Self.invalid("Invalid filter provided.", parameter: "filter")
                } else if condition.field == "messages.channel", !["email", "sms", "mobile_push"].contains(condition.value) {
                    return Self.invalid("'\(condition.value)' is not a valid channel.", parameter: "filter")
                }
            }
            conditions = parsed
        }
        if endpoint.requiresChannel, !conditions.contains(where: { $0.field == "messages.channel" }) {
            return Self.invalid(
                "A channel filter is required to list campaigns. Please provide either: "
                    + "?filter=equals(messages.channel,'email') to list email campaigns, or "
                    + "?filter=equals(messages.channel,'sms') to list SMS campaigns.",
                parameter: "filter"
            )
        }

        var sortField: String?
        var descending = false
        if let raw = value("sort") {
            descending = raw.hasPrefix("-")
            let field = descending ? String(raw.dropFirst()) : raw
            guard endpoint.sortFields.contains(field) else {
                return Self.invalid("'\(raw)' is not a valid sort field for the resource '\(endpoint.type)'.", parameter: "sort")
            }
            sortField = field
        }

        // Computed afresh at every request and sliced by the cursor's offset: stable while the data doesn't change.
        var items = (resources[endpoint.type] ?? [:]).values.filter { resource in
            conditions.allSatisfy { Self.matches(resource, $0) }
        }
        items.sort { Self.precedes($0, $1, field: sortField, descending: descending) }
        let page = items.dropFirst(offset).prefix(size)

        var next: JSONValue = .null
        if offset < items.count, items.count - offset > size {  // (no offset + size: a forged cursor could overflow)
            // Klaviyo's links.next repeats the request's filter/sort/page[size], percent-encoded, with a new cursor.
            let carried = params.filter { $0.key != "page[cursor]" } + [QueryItem(key: "page[cursor]", value: Self.encodeCursor(offset + size))]
            next = .string(
                "\(base)/api/\(endpoint.plural)/?"
                    + carried.map { "\(Self.percentEncode($0.key))=\(Self.percentEncode($0.value))" }.joined(separator: "&")
            )
        }
        let selfLink = base + request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        return Self.json(
            200,
            .object([
                "data": .array(page.map { Self.item($0, endpoint, base: base) }),
                "links": .object(["self": .string(selfLink), "next": next, "prev": .null]),
            ])
        )
    }

    // MARK: - Endpoints

    private struct Endpoint: Sendable {
        let plural: String
        let type: String
        let pageSize: Int  // page size without page[size]
        var maxPageSize: Int? = nil  // nil: no page[size] parameter at revision 2024-10-15
        var laterPaging: (since: String, size: Int, max: Int)? = nil  // a later revision that added page[size]
        var dateFilters: [String: Set<String>] = [:]
        var equalsFields: Set<String> = []
        var sortFields: Set<String> = []
        var requiresChannel = false

        func paging(revision: String) -> (size: Int, max: Int?) {
            if let later = laterPaging, revision >= later.since { return (later.size, later.max) }
            return (pageSize, maxPageSize)
        }

        func allows(_ key: String, pageSizeAccepted: Bool) -> Bool {
            switch key {
            case "filter", "page[cursor]", "include": return true
            case "sort": return !sortFields.isEmpty
            case "page[size]": return pageSizeAccepted
            default: return key.hasPrefix("fields[") || key.hasPrefix("additional-fields[")  // sparse fieldsets: ignored
            }
        }
    }

    private static let range: Set<String> = ["greater-or-equal", "greater-than", "less-or-equal", "less-than"]

    private static let endpoints: [String: Endpoint] = [
        "profiles": Endpoint(
            plural: "profiles",
            type: "profile",
            pageSize: 20,
            maxPageSize: 100,
            dateFilters: ["created": ["greater-than", "less-than"], "updated": ["greater-than", "less-than"]],
            equalsFields: ["id", "email", "phone_number", "external_id"],
            sortFields: ["id", "created", "updated", "email"]
        ),
        "events": Endpoint(
            plural: "events",
            type: "event",
            pageSize: 200,
            laterPaging: (since: "2026-01-15", size: 200, max: 1000),
            dateFilters: ["datetime": range, "timestamp": range],
            equalsFields: ["metric_id", "profile_id"],
            sortFields: ["datetime", "timestamp"]
        ),
        "metrics": Endpoint(
            plural: "metrics",
            type: "metric",
            pageSize: 200,
            equalsFields: ["integration.name", "integration.category"]
        ),
        "lists": Endpoint(
            plural: "lists",
            type: "list",
            pageSize: 10,
            laterPaging: (since: "2026-04-15", size: 10, max: 10),
            dateFilters: ["created": ["greater-than"], "updated": ["greater-than"]],
            equalsFields: ["id", "name"],
            sortFields: ["created", "id", "name", "updated"]
        ),
        "segments": Endpoint(
            plural: "segments",
            type: "segment",
            pageSize: 10,
            laterPaging: (since: "2026-07-15", size: 10, max: 10),
            dateFilters: ["created": ["greater-than"], "updated": ["greater-than"]],
            equalsFields: ["id", "name"],
            sortFields: ["created", "id", "name", "updated"]
        ),
        "flows": Endpoint(
            plural: "flows",
            type: "flow",
            pageSize: 50,
            maxPageSize: 50,
            dateFilters: ["created": range.union(["equals"]), "updated": range.union(["equals"])],
            equalsFields: ["name", "status", "archived", "trigger_type"],
            sortFields: ["created", "id", "name", "status", "trigger_type", "updated"]
        ),
        "templates": Endpoint(
            plural: "templates",
            type: "template",
            pageSize: 10,
            laterPaging: (since: "2026-04-15", size: 10, max: 10),
            dateFilters: ["created": range.union(["equals"]), "updated": range.union(["equals"])],
            equalsFields: ["id", "name"],
            sortFields: ["created", "id", "name", "updated"]
        ),
        "campaigns": Endpoint(
            plural: "campaigns",
            type: "campaign",
            pageSize: 10,
            laterPaging: (since: "2026-07-15", size: 100, max: 100),
            dateFilters: ["created_at": range, "updated_at": range, "scheduled_at": range],
            equalsFields: ["messages.channel", "status", "archived", "name"],
            sortFields: ["created_at", "id", "name", "scheduled_at", "updated_at"],
            requiresChannel: true
        ),
    ]

    // MARK: - Data

    private struct Resource: Sendable {
        let id: String
        var attributes: [String: JSONValue]
        var channel: String?
    }

    private struct Failure: Sendable {
        let status: Int
        let retryAfter: Int?
    }

    private struct Condition: Sendable {
        let op: String
        let field: String
        let value: String
    }

    private struct QueryItem: Sendable {
        let key: String
        let value: String
    }

    private static func item(_ resource: Resource, _ endpoint: Endpoint, base: String) -> JSONValue {
        .object([
            "type": .string(endpoint.type), "id": .string(resource.id), "attributes": .object(resource.attributes),
            "relationships": .object([:]), "links": .object(["self": .string("\(base)/api/\(endpoint.plural)/\(resource.id)/")]),
        ])
    }

    private static func matches(_ resource: Resource, _ condition: Condition) -> Bool {
        if condition.field == "messages.channel" { return resource.channel == condition.value }
        if let target = parseDate(condition.value), let actual = dateValue(resource, condition.field) {
            switch condition.op {
            case "greater-than": return actual > target
            case "greater-or-equal": return actual >= target
            case "less-than": return actual < target
            case "less-or-equal": return actual <= target
            default: return actual == target
            }
        }
        return condition.op == "equals" && stringValue(resource.attributes, path: condition.field) == condition.value
    }

    /// Unsorted lists come by id; a sort compares dates as dates, other values as text, and breaks ties by id.
    private static func precedes(_ a: Resource, _ b: Resource, field: String?, descending: Bool) -> Bool {
        var order = 0
        if let field, field != "id" {
            if let x = dateValue(a, field), let y = dateValue(b, field) {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else {
                switch (stringValue(a.attributes, path: field), stringValue(b.attributes, path: field)) {
                case let (x?, y?): order = x < y ? -1 : (x > y ? 1 : 0)
                case (nil, nil): order = 0
                case (nil, _): order = 1
                case (_, nil): order = -1
                }
            }
        } else {
            order = a.id < b.id ? -1 : (a.id > b.id ? 1 : 0)
        }
        if order == 0 { return a.id < b.id }
        return descending ? order > 0 : order < 0
    }

    /// A timestamp attribute: an RFC 3339 string, or epoch seconds (events' `timestamp`). Campaigns say `updated_at`
    /// where a test may have seeded `updated`.
    private static func dateValue(_ resource: Resource, _ field: String) -> Date? {
        var value = resource.attributes[field]
        if value == nil, field.hasSuffix("_at") { value = resource.attributes[String(field.dropLast(3))] }
        switch value {
        case .string(let text)?: return parseDate(text)
        case .number(let seconds)?: return Date(timeIntervalSince1970: seconds)
        default: return nil
        }
    }

    private static func stringValue(_ attributes: [String: JSONValue], path: String) -> String? {
        var current = JSONValue.object(attributes)
        for part in path.split(separator: ".") {
            guard case .object(let object) = current, let next = object[String(part)] else { return nil }
            current = next
        }
        switch current {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        default: return nil
        }
    }

    // MARK: - Parsing

    /// `op(field,value)` terms, comma-separated at the top level (all must hold) or nested in `and(…)`.
    private static func parseFilter(_ text: String) -> [Condition]? {
        var conditions: [Condition] = []
        for raw in splitTopLevel(text) {
            let term = raw.trimmingCharacters(in: .whitespaces)
            guard let open = term.firstIndex(of: "("), term.hasSuffix(")") else { return nil }
            let name = term[..<open].trimmingCharacters(in: .whitespaces)
            let inner = String(term[term.index(after: open)..<term.index(before: term.endIndex)])
            if name == "and" {
                guard let nested = parseFilter(inner) else { return nil }
                conditions += nested
                continue
            }
            let args = splitTopLevel(inner).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !name.isEmpty, args.count == 2, !args[0].isEmpty else { return nil }
            conditions.append(Condition(op: name, field: args[0], value: unquote(args[1])))
        }
        return conditions.isEmpty ? nil : conditions
    }

    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var quote: Character?
        for character in text {
            if let open = quote {
                current.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                current.append(character)
            case "(", "[":
                depth += 1
                current.append(character)
            case ")", "]":
                depth -= 1
                current.append(character)
            case "," where depth == 0:
                parts.append(current)
                current = ""
            default: current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func unquote(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == text.last, first == "'" || first == "\"" else { return text }
        return String(text.dropFirst().dropLast())
    }

    private static func parseDate(_ raw: String) -> Date? {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if let date = Timestamps.parse(text) { return date }
        // Klaviyo writes microseconds ("…:00.123456+00:00"): drop the fraction and try again.
        if let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) {
            return Timestamps.parse(String(text[..<dot]) + String(text[zone...]))
        }
        return nil
    }

    /// "YYYY-MM-DD" from a revision header ("2024-10-15" or "2024-10-15.pre"), or nil when malformed.
    private static func revisionDate(_ raw: String) -> String? {
        let date = raw.trimmingCharacters(in: .whitespaces).split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        let characters = Array(date)
        guard characters.count == 10 else { return nil }
        for (index, character) in characters.enumerated() {
            let valid = index == 4 || index == 7 ? character == "-" : character.isASCII && character.isNumber
            if !valid { return nil }
        }
        return date
    }

    /// Keys and values percent-decoded (Hummingbird decodes only values, and clients encode `[`/`]` in keys).
    private static func queryItems(_ query: String?) -> [QueryItem] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let key = parts[0]
            let value = parts.count > 1 ? parts[1] : ""
            return QueryItem(key: key.removingPercentEncoding ?? key, value: value.removingPercentEncoding ?? value)
        }
    }

    private static func percentEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$'()*,:@/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Opaque to clients, as Klaviyo's are: base64 of the offset into the filtered, sorted list.
    private static func encodeCursor(_ offset: Int) -> String { Data("offset:\(offset)".utf8).base64EncodedString() }

    /// A 400 the fake answers, as an error a `Result` can carry.
    private struct Refusal: Error {
        var response: Response
    }

    /// The page a request asks for: `page[size]` (when the endpoint takes one, within `maximum`,
    /// else `size`) and the offset its `page[cursor]` stands for; Klaviyo's 400 for either out of shape.
    private static func page(_ value: (String) -> String?, size: Int, maximum: Int?) -> Result<(size: Int, offset: Int), Refusal> {
        var size = size
        if let raw = value("page[size]"), let maximum {
            guard let n = Int(raw), (1...maximum).contains(n) else {
                return .failure(Refusal(response: invalid("Page size must be an integer between 1 and \(maximum).", parameter: "page[size]")))
            }
            size = n
        }
        var offset = 0
        if let raw = value("page[cursor]") {
            guard let decoded = decodeCursor(raw) else {
                return .failure(Refusal(response: invalid("Invalid page cursor.", parameter: "page[cursor]")))
            }
            offset = decoded
        }
        return .success((size, offset))
    }

    private static func decodeCursor(_ raw: String) -> Int? {
        guard let data = Data(base64Encoded: raw), let text = String(data: data, encoding: .utf8), text.hasPrefix("offset:"),
            let offset = Int(text.dropFirst("offset:".count)), offset >= 0
        else { return nil }
        return offset
    }

    // MARK: - Responses

    private static let jsonAPI = "application/vnd.api+json"

    private static func json(_ status: Int, _ body: JSONValue, retryAfter: Int? = nil) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: jsonAPI]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: .init(code: status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: String(decoding: data, as: UTF8.self)))
        )
    }

    private static func error(
        _ status: Int,
        code: String,
        title: String,
        detail: String,
        parameter: String? = nil,
        retryAfter: Int? = nil
    ) -> Response {
        var error: [String: JSONValue] = [
            "id": .string(UUID().uuidString.lowercased()), "status": .number(Double(status)), "code": .string(code),
            "title": .string(title), "detail": .string(detail),
        ]
        if let parameter { error["source"] = .object(["parameter": .string(parameter)]) }
        return json(status, .object(["errors": .array([.object(error)])]), retryAfter: retryAfter)
    }

    private static func invalid(_ detail: String, parameter: String) -> Response {
        error(400, code: "invalid", title: "Invalid input.", detail: detail, parameter: parameter)
    }

    /// 429 is Klaviyo's throttled error; 502/503/504 come from the gateway in front of the API, as plain text;
    /// anything else is a JSON:API error with that status.
    private static func failure(_ failure: Failure) -> Response {
        switch failure.status {
        case 429:
            let wait = failure.retryAfter ?? 1
            return error(
                429,
                code: "throttled",
                title: "Request was throttled.",
                detail: "Request was throttled. Expected available in \(wait) seconds.",
                retryAfter: failure.retryAfter
            )
        case 502, 503, 504:
            let phrase = [502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"][failure.status] ?? "Error"
            var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
            if let retryAfter = failure.retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(
                status: .init(code: failure.status, reasonPhrase: phrase),
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: "\(failure.status) \(phrase)\n"))
            )
        case 401:
            return error(401, code: "not_authenticated", title: "Incorrect authentication credentials.", detail: "Missing or invalid private key.")
        case 403:
            return error(
                403,
                code: "permission_denied",
                title: "You do not have permission to perform this action.",
                detail: "You do not have permission to perform this action.",
                retryAfter: failure.retryAfter
            )
        default:
            return error(
                failure.status,
                code: "error",
                title: "A server error occurred.",
                detail: "A server error occurred.",
                retryAfter: failure.retryAfter
            )
        }
    }
}

// MARK: - Child endpoints

/// Klaviyo's child collections at revision 2026-07-15 (its OpenAPI spec): Get Profiles for List / for Segment
/// (`/api/lists/{id}/profiles`, page[size] default 20, max 100; filter `joined_group_at` with greater-or-equal,
/// greater-than, less-or-equal, less-than, sort `joined_group_at`/`-joined_group_at`; each profile carries
/// `joined_group_at`, whole seconds), Get Actions for Flow (`/api/flows/{id}/flow-actions`, page[size] max 50),
/// Get Messages for Flow Action (`/api/flow-actions/{id}/flow-messages`, page[size] max 50) and Get Messages for
/// Campaign (`/api/campaigns/{id}/campaign-messages`, one page). An unknown parent is 404. Of the filters Klaviyo
/// offers there the fake implements `joined_group_at` and `created`/`updated`; any other filter answers 400, as an
/// unsupported one does at Klaviyo.
extension FakeKlaviyo {
    /// Which group a membership is of.
    public enum Group: String, Sendable {
        case list = "lists"
        case segment = "segments"
    }

    /// `profile` joins the list or segment `group` at `joinedAt` (kept in whole seconds, as Klaviyo does).
    public func join(_ kind: Group = .list, group: String, profile: String, at joinedAt: Date) {
        let whole = Date(timeIntervalSince1970: joinedAt.timeIntervalSince1970.rounded(.down))
        memberships[kind.rawValue, default: [:]][group, default: [:]][profile] = String(Timestamps.format(whole).dropLast()) + "+00:00"
    }

    /// `profile` leaves the list or segment.
    public func leave(_ kind: Group = .list, group: String, profile: String) {
        memberships[kind.rawValue]?[group]?[profile] = nil
    }

    /// A child resource (`flow-action` of a flow, `flow-message` of a flow action, `campaign-message` of a campaign).
    public func addChild(type: String, parent: String, id: String, attributes: [String: JSONValue]) {
        childResources[type, default: [:]][parent, default: [:]][id] = Resource(id: id, attributes: Self.wholeSeconds(attributes))
    }

    public func removeChild(type: String, parent: String, id: String) {
        childResources[type]?[parent]?[id] = nil
    }

    /// Every child answer's body waits this long (a slow provider, for tests that act mid-read).
    public func delayChildren(_ delay: Duration) { childDelay = delay }

    /// Requests for the children of `parent` answer `status` (nil: normally again).
    public func failChildren(of parent: String, status: Int?) { failingParents[parent] = status }

    fileprivate struct ChildRoute: Sendable {
        let parentType: String
        let child: String
        let type: String
        let pageSize: Int?
        let maxPageSize: Int?
        let dateFilters: [String: Set<String>]
        let sortFields: Set<String>
    }

    private static let childRoutes: [String: ChildRoute] = {
        let dates: Set<String> = ["equals", "greater-or-equal", "greater-than", "less-or-equal", "less-than"]
        let membership = { (parent: String) in
            ChildRoute(
                parentType: parent,
                child: "profiles",
                type: "profile",
                pageSize: 20,
                maxPageSize: 100,
                dateFilters: ["joined_group_at": FakeKlaviyo.range],
                sortFields: ["joined_group_at"]
            )
        }
        return [
            "lists/profiles": membership("list"),
            "segments/profiles": membership("segment"),
            "flows/flow-actions": ChildRoute(
                parentType: "flow",
                child: "flow-actions",
                type: "flow-action",
                pageSize: 50,
                maxPageSize: 50,
                dateFilters: ["created": dates, "updated": dates],
                sortFields: ["action_type", "created", "id", "status", "updated"]
            ),
            "flow-actions/flow-messages": ChildRoute(
                parentType: "flow-action",
                child: "flow-messages",
                type: "flow-message",
                pageSize: 50,
                maxPageSize: 50,
                dateFilters: ["created": dates, "updated": dates],
                sortFields: ["created", "id", "name", "updated"]
            ),
            "campaigns/campaign-messages": ChildRoute(
                parentType: "campaign",
                child: "campaign-messages",
                type: "campaign-message",
                pageSize: nil,
                maxPageSize: nil,
                dateFilters: [:],
                sortFields: []
            ),
        ]
    }()

    fileprivate static func childRoute(_ parts: [String]) -> ChildRoute? {
        guard parts.count == 4, parts[0] == "api" else { return nil }
        return childRoutes["\(parts[1])/\(parts[3])"]
    }

    fileprivate func respondChild(_ route: ChildRoute, parts: [String], request: Request) -> Response {
        if let denied = authenticate(request) { return denied }
        guard request.headers.first(where: { $0.name.canonicalName == "revision" }).flatMap({ Self.revisionDate($0.value) }) != nil else {
            return Self.invalid("Missing or invalid revision header.", parameter: "revision")
        }
        let parentID = parts[2].removingPercentEncoding ?? parts[2]
        if let status = failingParents[parentID] { return Self.failure(Failure(status: status, retryAfter: nil)) }
        let parentExists =
            route.parentType == "flow-action"
            ? childResources["flow-action"]?.values.contains { $0[parentID] != nil } == true
            : resources[route.parentType]?[parentID] != nil
        guard parentExists else { return Self.error(404, code: "not_found", title: "Not found.", detail: "Not found.") }

        let params = Self.queryItems(request.uri.query)
        func value(_ key: String) -> String? { params.last(where: { $0.key == key })?.value }
        for param in params {
            let allowed =
                switch param.key {
                case "page[cursor]", "filter": true
                case "page[size]": route.maxPageSize != nil
                case "sort": !route.sortFields.isEmpty
                default: param.key.hasPrefix("fields[") || param.key.hasPrefix("additional-fields[") || param.key == "include"
                }
            if !allowed { return Self.invalid("'\(param.key)' is not an allowed query parameter.", parameter: param.key) }
        }
        let size: Int
        let offset: Int
        switch Self.page(value, size: route.pageSize ?? Int.max, maximum: route.maxPageSize) {
        case .success(let page): (size, offset) = page
        case .failure(let refusal): return refusal.response
        }
        var conditions: [Condition] = []
        if let raw = value("filter") {
            guard let parsed = Self.parseFilter(raw) else { return Self.invalid("Invalid filter provided.", parameter: "filter") }
            for condition in parsed {
                guard let operators = route.dateFilters[condition.field], operators.contains(condition.op), Self.parseDate(condition.value) != nil
                else { return Self.invalid("Invalid filter provided.", parameter: "filter") }
            }
            conditions = parsed
        }
        var sortField: String?
        var descending = false
        if let raw = value("sort") {
            descending = raw.hasPrefix("-")
            sortField = descending ? String(raw.dropFirst()) : raw
            guard let field = sortField, route.sortFields.contains(field) else {
                return Self.invalid("'\(raw)' is not a valid sort field for the resource '\(route.type)'.", parameter: "sort")
            }
        }

        var items = children(route, parent: parentID).filter { resource in conditions.allSatisfy { Self.matches(resource, $0) } }
        items.sort { Self.precedes($0, $1, field: sortField, descending: descending) }
        let base = "http://\(request.head.authority ?? "127.0.0.1")"
        var next: JSONValue = .null
        if offset < items.count, items.count - offset > size {
            let carried = params.filter { $0.key != "page[cursor]" } + [QueryItem(key: "page[cursor]", value: Self.encodeCursor(offset + size))]
            next = .string(
                "\(base)/api/\(parts[1])/\(parts[2])/\(route.child)/?"
                    + carried.map { "\(Self.percentEncode($0.key))=\(Self.percentEncode($0.value))" }.joined(separator: "&")
            )
        }
        let endpoint = Endpoint(plural: route.child, type: route.type, pageSize: 0)
        let body: JSONValue = .object([
            "data": .array(items.dropFirst(offset).prefix(size).map { Self.item($0, endpoint, base: base) }),
            "links": .object(["self": .string(base + request.uri.path), "next": next, "prev": .null]),
        ])
        let response = Self.json(200, body)
        guard childDelay > .zero else { return response }
        let delay = childDelay
        let text = body.jsonText
        return Response(
            status: .ok,
            headers: response.headers,
            body: ResponseBody { writer in
                try await Task.sleep(for: delay)
                try await writer.write(ByteBuffer(string: text))
                try await writer.finish(nil)
            }
        )
    }

    /// A parent's children as resources: a membership is the profile (as stored, or bare) with its `joined_group_at`.
    private func children(_ route: ChildRoute, parent: String) -> [Resource] {
        guard route.type == "profile" else { return Array((childResources[route.type]?[parent] ?? [:]).values) }
        let members = memberships[route.parentType + "s"]?[parent] ?? [:]
        return members.map { profile, joined in
            var attributes = resources["profile"]?[profile]?.attributes ?? ["email": .null]
            attributes["joined_group_at"] = .string(joined)
            return Resource(id: profile, attributes: attributes)
        }
    }
}
