// The fake providers of `bench/provider-limit` and `bench/rest-vs-dlt`, as one program:
//
//   bench-fakes klaviyo    PROFILES=70000 EVENTS=350000 API_KEY=…  a Klaviyo of profiles and events,
//                          each endpoint behind its tier's fixed windows (L on profiles, XL on events;
//                          429 + Retry-After beyond, RateLimit-* headers on every other answer)
//   bench-fakes json-api   RECORDS=100000                          a JSON API of 100 records a page
//                          (~700 bytes each), the next page's URL in `next`
//
// It prints `port N` once it listens and serves until it is stopped; `GET /_bench/stats` (in front of
// the limits, so neither counted nor limited) answers one line of what it saw: `requests N
// throttled N` and the requests per path.
//
// Its Klaviyo is lean on purpose (the test fake sorts its whole store on every request): the
// records are made sorted, pages are slices found by binary search on the filter's time, and
// every record is encoded once at start.
import Fakes
import Foundation
import Hummingbird
import TributaryConnectors

let environment = ProcessInfo.processInfo.environment
func setting(_ name: String, _ fallback: Int) -> Int { environment[name].flatMap { Int($0) } ?? fallback }

/// Records of one endpoint, sorted by their cursor time, each encoded once.
struct Sorted: Sendable {
    var times: [Double] = []
    var encoded: [String] = []

    /// The first index whose time is after `time`.
    func firstAfter(_ time: Double) -> Int {
        var low = 0
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] > time { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

func klaviyoRecords(type: String, count: Int, field: String, span: Double) -> Sorted {
    var sorted = Sorted()
    sorted.times.reserveCapacity(count)
    sorted.encoded.reserveCapacity(count)
    let start = (Date().timeIntervalSince1970 - span).rounded(.down)
    for index in 0..<count {
        let time = start + (span * Double(index) / Double(max(count, 1))).rounded(.down)
        let stamp = String(Timestamps.format(Date(timeIntervalSince1970: time)).dropLast()) + "+00:00"
        let attributes =
            type == "profile"
            ? #""email":"p\#(index)@bench.test","first_name":"Bench","last_name":"Profile \#(index)","updated":"\#(stamp)","created":"\#(stamp)""#
            : #""metric_id":"M\#(index % 20)","value":\#(index % 500),"datetime":"\#(stamp)","timestamp":\#(Int(time))"#
        sorted.times.append(time)
        sorted.encoded.append(
            #"{"type":"\#(type)","id":"\#(type.prefix(1).uppercased())\#(index)","attributes":{\#(attributes)},"relationships":{}}"#
        )
    }
    return sorted
}

func query(_ request: Request) -> [String: String] {
    var items: [String: String] = [:]
    for pair in (request.uri.query ?? "").split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
        if parts.count == 2 { items[parts[0]] = parts[1] }
    }
    return items
}

/// `GET /_bench/stats`, added before the limits' middleware so that it stays outside them.
func addStats(_ router: Router<BasicRequestContext>, _ limits: FixedWindowLimits) {
    router.get("_bench/stats") { _, _ -> Response in
        let stats = limits.stats
        var paths: [String: Int] = [:]
        for arrival in stats.arrivals { paths[arrival.path, default: 0] += 1 }
        let line =
            "requests \(stats.requests) throttled \(stats.throttled) "
            + paths.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: line + "\n")))
    }
}

func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/vnd.api+json"], body: .init(byteBuffer: ByteBuffer(string: text)))
}

func klaviyoRouter(limits: FixedWindowLimits) -> Router<BasicRequestContext> {
    let key = environment["API_KEY"] ?? "pk_bench"
    let endpoints: [String: (sorted: Sorted, field: String, size: Int)] = [
        "profiles": (klaviyoRecords(type: "profile", count: setting("PROFILES", 70_000), field: "updated", span: 20 * 86400), "updated", 100),
        "events": (klaviyoRecords(type: "event", count: setting("EVENTS", 350_000), field: "datetime", span: 20 * 86400), "datetime", 1000),
    ]
    let router = Router(context: BasicRequestContext.self)
    addStats(router, limits)
    router.add(middleware: FixedWindowLimits.Middleware(limits))
    router.get("api/:endpoint") { request, context -> Response in
        guard request.headers[.authorization] == "Klaviyo-API-Key \(key)" else {
            return json(#"{"errors":[{"status":401,"code":"not_authenticated"}]}"#, status: .unauthorized)
        }
        guard let name = context.parameters.get("endpoint"), let endpoint = endpoints[name] else {
            return json(#"{"errors":[{"status":404,"code":"not_found"}]}"#, status: .notFound)
        }
        let items = query(request)
        var start = 0
        if let filter = items["filter"], filter.hasPrefix("greater-than(\(endpoint.field),"), filter.hasSuffix(")") {
            let value = filter.dropFirst("greater-than(\(endpoint.field),".count).dropLast()
            guard let date = Timestamps.parse(String(value)) else { return json(#"{"errors":[{"status":400}]}"#, status: .badRequest) }
            start = endpoint.sorted.firstAfter(date.timeIntervalSince1970)
        }
        let size = min(items["page[size]"].flatMap { Int($0) } ?? endpoint.size, endpoint.size)
        let offset = items["page[cursor]"].flatMap { Int($0) } ?? 0
        let from = min(start + max(offset, 0), endpoint.sorted.encoded.count)
        let to = min(from + size, endpoint.sorted.encoded.count)
        var next = "null"
        if to < endpoint.sorted.encoded.count {
            var carried = items
            carried["page[cursor]"] = String(to - start)
            let encoded = carried.sorted { $0.key < $1.key }.map { pair in
                let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
                return (pair.key.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") + "="
                    + (pair.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
            }
            next = "\"http://\(request.head.authority ?? "127.0.0.1")/api/\(name)/?\(encoded.joined(separator: "&"))\""
        }
        let data = endpoint.sorted.encoded[from..<to].joined(separator: ",")
        return json(#"{"data":[\#(data)],"links":{"self":null,"next":\#(next),"prev":null}}"#)
    }
    return router
}

/// 100 records a page of ~700 bytes, `{"data":[…],"next":"<url>"|null}`, pages encoded once.
func jsonAPIRouter(limits: FixedWindowLimits) -> Router<BasicRequestContext> {
    let records = setting("RECORDS", 100_000)
    let pageSize = 100
    let filler = String(repeating: "lorem ipsum dolor sit amet ", count: 16)
    let stamp = Timestamps.format(Date())
    var pages: [String] = []
    for page in 0..<((records + pageSize - 1) / pageSize) {
        let ids = (page * pageSize)..<min((page + 1) * pageSize, records)
        pages.append(
            ids.map { id in
                #"{"id":\#(id + 1),"updated_at":"\#(stamp)","name":"Record \#(id + 1)","email":"r\#(id + 1)@bench.test","#
                    + #""status":"\#(["active", "paused", "closed"][id % 3])","amount":\#(id % 1000).25,"note":"\#(filler)"}"#
            }.joined(separator: ",")
        )
    }
    let all = pages
    let router = Router(context: BasicRequestContext.self)
    addStats(router, limits)
    router.add(middleware: FixedWindowLimits.Middleware(limits))
    router.get("records") { request, _ -> Response in
        let page = max(query(request)["page"].flatMap { Int($0) } ?? 1, 1)
        guard page <= all.count else { return json(#"{"data":[],"next":null}"#) }
        let next = page < all.count ? "\"http://\(request.head.authority ?? "127.0.0.1")/records?page=\(page + 1)\"" : "null"
        return json(#"{"data":[\#(all[page - 1])],"next":\#(next)}"#)
    }
    return router
}

let mode = CommandLine.arguments.dropFirst().first ?? ""
let limits = mode == "klaviyo" ? FixedWindowLimits.klaviyo() : FixedWindowLimits(style: .none, [])
let router: Router<BasicRequestContext>
switch mode {
case "klaviyo": router = klaviyoRouter(limits: limits)
case "json-api": router = jsonAPIRouter(limits: limits)
default:
    FileHandle.standardError.write(Data("usage: bench-fakes klaviyo|json-api\n".utf8))
    exit(2)
}

try await withFakeServer(router) { port in
    FileHandle.standardOutput.write(Data("port \(port)\n".utf8))
    while true { try await Task.sleep(for: .seconds(3600)) }
}
