import Foundation
import Hummingbird
import TributaryConnectors

/// Keap's (Infusionsoft's) REST API v1 list endpoints, `GET /crm/rest/v1/contacts` and `GET /crm/rest/v1/emails`,
/// as a connector meets them through Keap's gateway. Where Keap's behaviour was observed or documented the comment
/// says so; where Keap is silent the comment names the choice this fake made.
public actor FakeKeap {
    private struct Record {
        var id: Int
        var date: Date  // last_updated of a contact, sent_date of an email
        var created: Date
        var fields: [String: JSONValue]
    }

    private enum Failure {
        case status(Int, retryAfter: Int?)
        case malformed
    }
    private struct BadRequest: Error { let message: String }

    private enum ContactOrder: String, CaseIterable {
        // The values Keap's v1 ContactQueryCommand declares for `order`.
        case id
        case dateCreated = "date_created"
        case lastUpdated = "last_updated"
        case name
        case firstName
        case email
    }

    private let apiKey: String
    private var contacts: [Int: Record] = [:]
    private var emails: [Int: Record] = [:]
    private var bearers: Set<String> = []
    /// One queue for failNext and malformNext, so injected faults come back in the order they were asked for.
    private var failures: [Failure] = []
    /// Every request, as "GET /crm/rest/v1/contacts?<query as received>", in order.
    public private(set) var requests: [String] = []

    public init(apiKey: String = "KeapAK-test-fake") {
        self.apiKey = apiKey
    }

    /// A contact; `lastUpdated` goes out as "last_updated" in Keap's date format, plus given fields (e.g. "given_name", "email_addresses").
    public func addContact(id: Int, lastUpdated: Date, fields: [String: JSONValue] = [:]) {
        // Re-adding keeps the first date_created, as an edit in Keap would.
        let created = contacts[id]?.created ?? Self.wholeSecond(lastUpdated)
        contacts[id] = Record(id: id, date: Self.wholeSecond(lastUpdated), created: created, fields: fields)
    }

    /// Moves a contact's last_updated, as any edit in Keap does. An unknown id is ignored.
    public func updateContact(id: Int, lastUpdated: Date) {
        contacts[id]?.date = Self.wholeSecond(lastUpdated)
    }

    /// An email record; `sentDate` goes out as "sent_date" (Keap format); plus given fields ("subject", "sent_to_address", "contact_id" …).
    public func addEmail(id: Int, sentDate: Date, fields: [String: JSONValue] = [:]) {
        emails[id] = Record(id: id, date: Self.wholeSecond(sentDate), created: Self.wholeSecond(sentDate), fields: fields)
    }

    /// Keap's dates carry a millisecond field that is always `.000` (every example in its v1 reference and in live
    /// answers, e.g. "2024-11-07T20:35:13.000+0000"): it keeps whole seconds, so this fake does too, and two edits
    /// within one second leave the same last_updated.
    private static func wholeSecond(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// The next `count` authenticated requests fail with `status`; a 429 carries Keap's throttle body.
    public func failNext(_ count: Int, status: Int, retryAfterSeconds: Int? = nil) {
        failures += Array(repeating: Failure.status(status, retryAfter: retryAfterSeconds), count: max(0, count))
    }

    /// The next authenticated request answers 200 with a body that is not JSON (a cut-off response).
    public func malformNext() { failures.append(.malformed) }

    public func acceptBearer(_ token: String) { bearers.insert(token) }
    public func revokeBearers() { bearers.removeAll() }

    public nonisolated var router: Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Added before the routes: Hummingbird wraps each route, and its not-found responder, in the middleware
        // present when they are built, so every request (even to an unknown path) is recorded and authenticated.
        router.add(middleware: KeapGateway(keap: self))
        router.get("crm/rest/v1/contacts") { request, _ in await self.listContacts(request) }
        router.get("crm/rest/v1/emails") { request, _ in await self.listEmails(request) }
        return router
    }

    /// Keap's date format, for tests: 2024-11-07T20:35:13.000+0000 (UTC).
    public static func keapDate(_ date: Date) -> String {
        // Whole milliseconds first, so that 13.9996 s cannot print as "13.1000".
        let total = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = total >= 0 ? total / 1000 : (total - 999) / 1000
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        return "\(pad(c.year ?? 0, 4))-\(pad(c.month ?? 0, 2))-\(pad(c.day ?? 0, 2))T\(pad(c.hour ?? 0, 2)):"
            + "\(pad(c.minute ?? 0, 2)):\(pad(c.second ?? 0, 2)).\(pad(Int(total - seconds * 1000), 3))+0000"
    }

    // MARK: Gateway

    /// What Keap's Apigee gateway does before the application sees a request: record it, authenticate it (the
    /// gateway authenticates before it routes, so an unknown path without a credential is a 401, not a 404), then
    /// apply any injected fault. Returns the response that ends the request here, or nil to let it through.
    fileprivate func admit(_ request: Request) -> Response? {
        let query = request.uri.query.map { "?" + $0 } ?? ""
        requests.append("\(request.method.rawValue) \(request.uri.path)\(query)")
        if let refusal = authenticate(request.headers) { return refusal }
        guard !failures.isEmpty else { return nil }
        switch failures.removeFirst() {
        case .malformed:
            return Self.respond(200, #"{"count":1,"next":"http://"#)
        case .status(let status, let retryAfter):
            // The 429 body is the one Keap users report for throttling; Keap documents its x-keap-product-* quota
            // headers but not Retry-After, so the header appears only when a test asks for it.
            let body =
                status == 429
                ? #"{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}"#
                : Self.message("Fake Keap failure \(status)")
            return Self.respond(status, body, retryAfter: retryAfter)
        }
    }

    /// A service account key or personal access token comes as `X-Keap-API-Key`; an OAuth access token as
    /// `Authorization: Bearer`. Refusals use Apigee's `fault` envelope, not the application's `{"message":…}`, with
    /// the error codes measured on the live gateway: no usable credential versus a credential that was rejected.
    private func authenticate(_ headers: HTTPFields) -> Response? {
        let rejected = Self.fault("Invalid Access Token", "keymanagement.service.invalid_access_token")
        // Matched by canonical (lowercased) name: Hummingbird does not re-export HTTPField to spell the name with.
        if let key = headers.first(where: { $0.name.canonicalName == "x-keap-api-key" })?.value {
            return key == apiKey ? nil : rejected
        }
        guard let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") else {
            return Self.fault("Invalid access token", "oauth.v2.InvalidAccessToken")
        }
        return bearers.contains(String(authorization.dropFirst("Bearer ".count))) ? nil : rejected
    }

    // MARK: Endpoints

    private func listContacts(_ request: Request) -> Response {
        let query = Self.formQuery(request.uri.query)
        do {
            let (limit, offset) = try Self.paging(query)
            // Keap documents only "Date to start searching from / to search to on LastUpdated"; inclusivity is not
            // documented, so this fake takes since inclusive and until exclusive (windows then tile without overlap).
            let since = try Self.date(query, "since")
            let until = try Self.date(query, "until")
            let order = try Self.contactOrder(query["order"])
            let descending = try Self.isDescending(query["order_direction"])
            let email = Self.nonEmpty(query["email"])?.lowercased()
            let matching = contacts.values
                .filter { record in
                    Self.within(record.date, since, until) && (email.map { Self.addresses(of: record).contains($0) } ?? true)
                }
                .sorted { Self.precedes($0, $1, by: order, descending: descending) }
            let page = Array(matching.dropFirst(offset).prefix(limit))
            let direction = Self.nonEmpty(query["order_direction"]).map { _ in descending ? "DESCENDING" : "ASCENDING" }
            let echoed: [(String, String?)] = [
                ("since", Self.nonEmpty(query["since"])), ("until", Self.nonEmpty(query["until"])), ("order", order.rawValue),
                ("order_direction", direction), ("email", Self.nonEmpty(query["email"])),
            ]
            return Self.listing(
                "contacts",
                items: page.map(Self.contactJSON),
                total: matching.count,
                limit: limit,
                offset: offset,
                host: request.head.authority,
                echoed: echoed
            )
        } catch {
            return Self.respond(400, Self.message((error as? BadRequest)?.message ?? "Bad Request"))
        }
    }

    private func listEmails(_ request: Request) -> Response {
        let query = Self.formQuery(request.uri.query)
        do {
            let (limit, offset) = try Self.paging(query)
            // Same window rule as contacts: since_sent_date inclusive, until_sent_date exclusive (undocumented).
            let since = try Self.date(query, "since_sent_date")
            let until = try Self.date(query, "until_sent_date")
            // Keap's own parameter text: since_sent_date "must be present if untilDate is provided".
            if until != nil, since == nil {
                throw BadRequest(message: "since_sent_date must be present if until_sent_date is provided")
            }
            let contactID = try Self.integer(query, "contact_id")
            let address = Self.nonEmpty(query["email"])?.lowercased()
            // Keap does not say how it orders emails (it offers `ordered=false` to drop its ORDER BY); this fake
            // orders by id ascending, which is stable under paging.
            let matching = emails.values.filter { record in
                guard Self.within(record.date, since, until) else { return false }
                if let contactID, Self.number(record.fields["contact_id"]) != Double(contactID) { return false }
                if let address, Self.text(record.fields["sent_to_address"]).lowercased() != address { return false }
                return true
            }.sorted { $0.id < $1.id }
            let page = Array(matching.dropFirst(offset).prefix(limit))
            let echoed: [(String, String?)] = [
                ("since_sent_date", Self.nonEmpty(query["since_sent_date"])),
                ("until_sent_date", Self.nonEmpty(query["until_sent_date"])),
                ("contact_id", contactID.map { String($0) }), ("email", Self.nonEmpty(query["email"])),
            ]
            return Self.listing(
                "emails",
                items: page.map(Self.emailJSON),
                total: matching.count,
                limit: limit,
                offset: offset,
                host: request.head.authority,
                echoed: echoed
            )
        } catch {
            return Self.respond(400, Self.message((error as? BadRequest)?.message ?? "Bad Request"))
        }
    }

    /// Keap's v1 list envelope: the page, `count` (every match, not just this page), and `next` and `previous`
    /// as absolute URLs. `next` is there even on the last page, so a client must stop on an empty page. As in
    /// live Keap responses, `next` carries `limit` = the number of items on this page and `offset` = offset + the
    /// limit asked for; `previous` carries the limit asked for. Both are rebuilt from the recognised parameters
    /// (the date strings echoed as sent), so anything else, such as `optional_properties`, is dropped.
    private static func listing(
        _ key: String,
        items: [JSONValue],
        total: Int,
        limit: Int,
        offset: Int,
        host: String?,
        echoed: [(String, String?)]
    ) -> Response {
        let base = "http://\(host ?? "127.0.0.1")/crm/rest/v1/\(key)"
        let nextPage: [(String, String?)] = [("limit", String(items.count)), ("offset", String(offset + limit))]
        let previousPage: [(String, String?)] = [("limit", String(limit)), ("offset", String(max(0, offset - limit)))]
        let next = link(base, nextPage + echoed)
        let previous = link(base, previousPage + echoed)
        let body: JSONValue = .object([
            key: .array(items), "count": .number(Double(total)), "next": .string(next), "previous": .string(previous),
        ])
        return respond(200, encode(body))
    }

    private static func link(_ base: String, _ items: [(String, String?)]) -> String {
        // Colons stay bare as in Keap's links; '+' (in "+0000") must be escaped or it would come back as a space.
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:")
        var parts: [String] = []
        for item in items {
            guard let value = item.1 else { continue }
            parts.append("\(item.0)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)")
        }
        return base + "?" + parts.joined(separator: "&")
    }

    // MARK: Records

    private static func contactJSON(_ record: Record) -> JSONValue {
        // The fake's own keys win over given fields: they are what filtering and ordering run on.
        var object = record.fields
        object["id"] = .number(Double(record.id))
        object["date_created"] = .string(keapDate(record.created))
        object["last_updated"] = .string(keapDate(record.date))
        // Live v1 contacts also carry the instant as epoch milliseconds.
        object["last_updated_utc_millis"] = .number(Double(millis(record.date)))
        return .object(object)
    }

    private static func emailJSON(_ record: Record) -> JSONValue {
        var object = record.fields
        object["id"] = .number(Double(record.id))
        object["sent_date"] = .string(keapDate(record.date))
        return .object(object)
    }

    /// Ties go to the lower id, so that paging a sort with equal keys neither repeats nor skips a contact.
    private static func precedes(_ a: Record, _ b: Record, by order: ContactOrder, descending: Bool) -> Bool {
        func compare<T: Comparable>(_ x: T, _ y: T) -> ComparisonResult {
            x < y ? .orderedAscending : (x > y ? .orderedDescending : .orderedSame)
        }
        let result: ComparisonResult
        switch order {
        case .id: result = compare(a.id, b.id)
        case .dateCreated: result = compare(a.created, b.created)
        case .lastUpdated: result = compare(a.date, b.date)
        case .name: result = compare(name(a), name(b))
        case .firstName: result = compare(text(a.fields["given_name"]).lowercased(), text(b.fields["given_name"]).lowercased())
        case .email: result = compare(addresses(of: a).first ?? "", addresses(of: b).first ?? "")
        }
        if result == .orderedSame { return a.id < b.id }
        return descending ? result == .orderedDescending : result == .orderedAscending
    }

    /// Keap does not say what "name" sorts on; this fake takes family name, then given name.
    private static func name(_ record: Record) -> String {
        (text(record.fields["family_name"]) + " " + text(record.fields["given_name"])).lowercased()
    }

    private static func addresses(of record: Record) -> [String] {
        var found: [String] = []
        if case .array(let entries)? = record.fields["email_addresses"] {
            for case .object(let entry) in entries {
                if case .string(let address)? = entry["email"] { found.append(address.lowercased()) }
            }
        }
        if case .string(let address)? = record.fields["email"] { found.append(address.lowercased()) }
        return found
    }

    private static func text(_ value: JSONValue?) -> String {
        if case .string(let string)? = value { return string }
        return ""
    }

    private static func number(_ value: JSONValue?) -> Double? {
        if case .number(let number)? = value { return number }
        if case .string(let string)? = value { return Double(string) }
        return nil
    }

    // MARK: Query

    /// Keap runs on a Java servlet stack, which reads the query as a form: '+' is a space. Hummingbird's own
    /// parser keeps '+', so the query is read here instead; an unescaped "+0000" then fails as it would at Keap.
    private static func formQuery(_ raw: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (raw ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            // A repeated parameter binds its first value, as a servlet's getParameter does.
            if let key = parts.first, result[key] == nil { result[key] = parts.count > 1 ? parts[1] : "" }
        }
        return result
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    /// `limit` is at most 1000 (Keap's page size ceiling) and defaults to it; 0 counts as absent, so the
    /// `limit=0` of an empty page's `next` link still parses.
    private static func paging(_ query: [String: String]) throws -> (limit: Int, offset: Int) {
        let limit = try integer(query, "limit") ?? 0
        guard limit <= 1000 else { throw BadRequest(message: "limit must not be greater than 1000") }
        let offset = try integer(query, "offset") ?? 0
        return (limit == 0 ? 1000 : limit, offset)
    }

    private static func integer(_ query: [String: String], _ name: String) throws -> Int? {
        guard let text = nonEmpty(query[name]) else { return nil }
        guard let value = Int(text), value >= 0 else { throw BadRequest(message: "Invalid value for \(name): \(text)") }
        return value
    }

    private static func date(_ query: [String: String], _ name: String) throws -> Date? {
        guard let text = nonEmpty(query[name]) else { return nil }
        guard let date = parseDate(text) else { throw BadRequest(message: "Invalid date format for \(name): \(text)") }
        return date
    }

    private static func contactOrder(_ text: String?) throws -> ContactOrder {
        guard let text = nonEmpty(text) else { return .id }  // Keap's links show order=id when none was asked for
        guard let order = ContactOrder.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            throw BadRequest(message: "Invalid value for order: \(text)")
        }
        return order
    }

    private static func isDescending(_ text: String?) throws -> Bool {
        // Keap's own forum answers use lowercase ("descending"), so the match ignores case.
        switch (text ?? "").uppercased() {
        case "", "ASCENDING": return false
        case "DESCENDING": return true
        default: throw BadRequest(message: "Invalid value for order_direction: \(text ?? "")")
        }
    }

    /// Compared at whole milliseconds, Keap's resolution, so a date that went out as text and came back as a query
    /// bound matches its record exactly despite floating point.
    private static func within(_ date: Date, _ since: Date?, _ until: Date?) -> Bool {
        let instant = millis(date)
        if let since, instant < millis(since) { return false }
        if let until, instant >= millis(until) { return false }
        return true
    }

    private static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// yyyy-MM-ddTHH:mm:ss, optional fraction of 1–9 digits, then "Z", "±HHMM" (Keap's own form) or "±HH:MM".
    /// No zone at all is refused: the instant would be ambiguous.
    private static func parseDate(_ string: String) -> Date? {
        let c = Array(string.utf8)
        func at(_ i: Int, _ scalar: Unicode.Scalar) -> Bool { i < c.count && c[i] == UInt8(ascii: scalar) }
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start >= 0, start + count <= c.count else { return nil }
            var value = 0
            for byte in c[start..<start + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2), at(10, "T"),
            let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2), at(16, ":"), let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var fraction = 0.0
        if at(i, ".") {
            let start = i + 1
            i = start
            while i < c.count, c[i] >= 0x30, c[i] <= 0x39 { i += 1 }
            guard (1...9).contains(i - start), let value = digits(start, i - start) else { return nil }
            fraction = Double(value) / pow(10, Double(i - start))
        }
        let offset: Int
        if at(i, "Z") {
            guard i + 1 == c.count else { return nil }
            offset = 0
        } else if at(i, "+") || at(i, "-") {
            var j = i + 3
            if at(j, ":") { j += 1 }
            guard let hours = digits(i + 1, 2), let minutes = digits(j, 2), j + 2 == c.count, hours <= 23, minutes <= 59
            else { return nil }
            offset = (at(i, "-") ? -1 : 1) * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        // Calendar rolls 31 February over into March; checking the day back refuses it instead.
        guard let base = utc.date(from: components), utc.component(.day, from: base) == day else { return nil }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    // MARK: Responses

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func encode(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The application's error body on v1, e.g. {"message":"Unable to find this Contact"}.
    private static func message(_ text: String) -> String { encode(.object(["message": .string(text)])) }

    private static func fault(_ text: String, _ code: String) -> Response {
        let body: JSONValue = .object(["fault": .object(["faultstring": .string(text), "detail": .object(["errorcode": .string(code)])])])
        return respond(401, encode(body))
    }

    /// An authenticated request to a path Keap does not serve gets its HTML "Page Not Found" page, not JSON.
    fileprivate static func notFoundPage() -> Response {
        let html =
            "<html><head><title>Keap - Page Not Found</title></head><body><p>We're sorry to say this, but the page "
            + "you're looking for can't be found.</p></body></html>"
        return respond(404, html, contentType: "text/html;charset=UTF-8")
    }

    private static func respond(
        _ status: Int,
        _ body: String,
        contentType: String = "application/json;charset=UTF-8",
        retryAfter: Int? = nil
    ) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Runs FakeKeap's gateway step ahead of routing, and turns the router's own 404 into Keap's page.
private struct KeapGateway: RouterMiddleware {
    typealias Context = BasicRequestContext
    let keap: FakeKeap

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = await keap.admit(request) { return refusal }
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return FakeKeap.notFoundPage()
        }
    }
}
