import Foundation
import Hummingbird
import TributaryConnectors

/// A generic JSON API for the declarative `rest` connector: the same items served under one path
/// per pagination style, with an `updated_since` filter, and auth checked the way it is configured.
///
/// - `/items/plain`: a top-level array, no paging
/// - `/items/next`: `{"results":[…],"next":"<absolute URL>"|null}`
/// - `/items/link`: a top-level array, `Link: <url>; rel="next"`
/// - `/items/cursor`: `{"data":{"items":[…]},"meta":{"next_cursor":"…"|null}}`
/// - `/items/offset?offset=&limit=`, `/items/page?page=&per_page=`: `{"items":[…]}`
///
/// Times are kept at whole seconds, as most APIs keep them; `updated_since` (an RFC 3339 time) and
/// `since_epoch` (epoch seconds) are strictly-later filters, the harder case for a client.
/// Each item also carries `updated_epoch` and `updated_ms` (epoch seconds and milliseconds) and
/// `version`, an integer that may pass 2^53.
public actor FakeJSONAPI {
    public struct Item: Sendable {
        public var id: Int
        public var updatedAt: Date
        public var name: String
        public var version: String
    }

    public enum Auth: Sendable {
        case none
        case header(name: String, value: String)
        case query(param: String, value: String)
        case basic(username: String, password: String)
    }

    let auth: Auth
    let pageSize: Int
    private var items: [Item] = []
    /// The most items a page holds, whatever the request asked for (APIs cap page sizes).
    private var pageCap = Int.max
    /// Requests still served normally before one answers without its array.
    private var malformAfter: Int?
    public private(set) var requests: [String] = []
    /// Parents with string ids (any text, hostile ones included) and their children, for child streams:
    /// `/groups` lists `{"groups":[{"id":…}]}`, `/groups/{id}/members` a group's `{"members":[…]}` (404: no such group).
    private var groups: [String: [JSONValue]] = [:]

    /// Fixed-window limits in front of every route (nil: none).
    public nonisolated let limits: FixedWindowLimits?

    public init(auth: Auth = .none, pageSize: Int = 10, limits: FixedWindowLimits? = nil) {
        self.auth = auth
        self.pageSize = pageSize
        self.limits = limits
    }

    /// `version` defaults to the id; a text of digits sets it (beyond 2^53 if need be).
    public func add(id: Int, updatedAt: Date, name: String, version: String? = nil) {
        items.removeAll { $0.id == id }
        // Kept at the whole second it is rendered with, so a filter compares what clients saw.
        let whole = Date(timeIntervalSince1970: updatedAt.timeIntervalSince1970.rounded(.down))
        items.append(Item(id: id, updatedAt: whole, name: name, version: version ?? String(id)))
    }

    /// From now on no page holds more than `size` items (nil: as many as asked).
    public func capPageSize(_ size: Int?) { pageCap = size ?? Int.max }

    /// After `count` more requests are served, the next answers 200 without its records array.
    public func malform(after count: Int) { malformAfter = count }

    public nonisolated var router: Router<BasicRequestContext> {
        let router = Router()
        if let limits { router.add(middleware: FixedWindowLimits.Middleware(limits)) }
        router.get("items/:style") { request, context in
            try await self.serve(request, style: context.parameters.get("style") ?? "")
        }
        router.get("groups") { request, _ in await self.serveGroups(request) }
        router.get("groups/:id/members") { request, context in
            await self.serveMembers(request, id: context.parameters.get("id") ?? "")
        }
        return router
    }

    private func serve(_ request: Request, style: String) throws -> Response {
        requests.append("\(request.uri.path)?\(request.uri.query ?? "")")
        let query = request.uri.queryParameters
        guard authorized(request) else { return Self.json(#"{"error":"unauthorized"}"#, status: .unauthorized) }
        if let countdown = malformAfter {
            malformAfter = countdown > 0 ? countdown - 1 : nil
            if countdown == 0 { return Self.json(#"{"results":"temporarily unavailable","items":null}"#) }
        }
        var selected = items.sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
        if let since = query["updated_since"].map(String.init) {
            guard let date = Timestamps.parse(since) else { return Self.json(#"{"error":"bad updated_since"}"#, status: .badRequest) }
            selected = selected.filter { $0.updatedAt > date }
        }
        if let since = query["since_epoch"].map(String.init) {
            guard let seconds = Int(since) else { return Self.json(#"{"error":"bad since_epoch"}"#, status: .badRequest) }
            selected = selected.filter { Int($0.updatedAt.timeIntervalSince1970) > seconds }
        }
        let host = request.head.authority ?? "127.0.0.1"
        let cap = pageCap
        func page(_ start: Int, _ size: Int) -> [Item] { Array(selected.dropFirst(start).prefix(min(size, cap))) }
        func array(_ items: [Item]) -> String { "[" + items.map(Self.render).joined(separator: ",") + "]" }
        switch style {
        case "plain":
            return Self.json(array(selected))
        case "next", "link", "cursor":
            let start = Int(query["cursor"].map(String.init) ?? query["start"].map(String.init) ?? "0") ?? 0
            let slice = page(start, pageSize)
            let more = start + pageSize < selected.count
            var nextQuery = query.filter { $0.key != "start" && $0.key != "cursor" }.map {
                "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            }
            nextQuery.append("start=\(start + pageSize)")
            let next = "http://\(host)/items/\(style)?\(nextQuery.joined(separator: "&"))"
            switch style {
            case "next":
                return Self.json(#"{"results":\#(array(slice)),"next":\#(more ? "\"\(next)\"" : "null")}"#)
            case "link":
                var response = Self.json(array(slice))
                if more { response.headers[.init("Link")!] = "<\(next)>; rel=\"next\", <http://\(host)/items/link>; rel=\"first\"" }
                return response
            default:
                return Self.json(#"{"data":{"items":\#(array(slice))},"meta":{"next_cursor":\#(more ? "\"\(start + pageSize)\"" : "null")}}"#)
            }
        case "offset":
            let offset = Int(query["offset"].map(String.init) ?? "0") ?? 0
            let limit = Int(query["limit"].map(String.init) ?? "\(pageSize)") ?? pageSize
            return Self.json(#"{"items":\#(array(page(offset, limit)))}"#)
        case "page":
            let number = Int(query["page"].map(String.init) ?? "1") ?? 1
            // A capped API numbers its pages by the size it serves, not the size asked for.
            let size = min(Int(query["per_page"].map(String.init) ?? "\(pageSize)") ?? pageSize, cap)
            return Self.json(#"{"items":\#(array(page((number - 1) * size, size)))}"#)
        default:
            return Self.json(#"{"error":"not found"}"#, status: .notFound)
        }
    }

    private func authorized(_ request: Request) -> Bool {
        switch auth {
        case .none:
            return true
        case .header(let name, let value):
            return request.headers[.init(name)!] == value
        case .query(let param, let value):
            return request.uri.queryParameters[param[...]].map(String.init) == value
        case .basic(let username, let password):
            return request.headers[.authorization] == "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
    }

    static func render(_ item: Item) -> String {
        let seconds = Int(item.updatedAt.timeIntervalSince1970)
        return #"{"id":\#(item.id),"name":"\#(item.name)","updated_at":"\#(Timestamps.format(item.updatedAt))","updated_epoch":\#(seconds),"#
            + #""updated_ms":\#(seconds * 1000),"version":\#(item.version)}"#
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension FakeJSONAPI {
    /// A group `id` with `members` (each an object with at least the stream's primary key).
    public func addGroup(_ id: String, members: [JSONValue]) { groups[id] = members }

    public func removeGroup(_ id: String) { groups[id] = nil }

    private func serveGroups(_ request: Request) -> Response {
        requests.append(request.uri.path)
        let list = groups.keys.sorted().map { JSONValue.object(["id": .string($0)]) }
        return Self.json(JSONValue.object(["groups": .array(list)]).jsonText)
    }

    /// The id as the path carried it, percent-decoded (the router hands over the raw segment).
    private func serveMembers(_ request: Request, id raw: String) -> Response {
        requests.append(request.uri.path)
        guard let members = groups[raw.removingPercentEncoding ?? raw] else { return Self.json(#"{"error":"no such group"}"#, status: .notFound) }
        return Self.json(JSONValue.object(["members": .array(members)]).jsonText)
    }
}
