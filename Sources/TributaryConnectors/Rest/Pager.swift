import Foundation
import NIOHTTP1

/// Walks the pages of one stream as its `pagination` config says.
struct Pager {
    let pagination: RestPagination
    let http: ProviderHTTP
    let path: String
    let query: [(String, String)]
    private var pending: String?
    private(set) var isDone = false
    /// Records read so far (offset), or the page last asked for (page).
    private var position = 0

    init(_ pagination: RestPagination, http: ProviderHTTP, path: String, query: [(String, String)]) {
        self.pagination = pagination
        self.http = http
        self.path = path
        self.query = query
        var first: [(String, String)] = []
        switch pagination {
        case .offset(let offset):
            first = [(offset.offsetParam, "0"), (offset.limitParam, String(offset.limit))]
        case .page(let page):
            position = page.startPage
            first = [(page.pageParam, String(position)), (page.sizeParam, String(page.size))]
        case .singlePage, .nextURL, .linkHeader, .cursor:
            break
        }
        self.pending = http.url(path, query: query + first)
    }

    /// The URL `next()` will give, without taking it.
    var upcoming: String? { pending }

    /// The URL of the next page, or nil when the stream is read.
    mutating func next() -> String? {
        defer { pending = nil }
        return pending
    }

    /// Works out the page after the one read from `current`; a next link that cannot be re-based
    /// onto the configured origin fails the read.
    mutating func advance(after body: JSONValue, headers: HTTPHeaders, count: Int, current: String) throws {
        pending = nil
        switch pagination {
        case .singlePage:
            break
        case .nextURL(let next):
            let link = JSONPointer.resolve(next.nextURLPath, in: body)?.stringValue
            if let link, !link.isEmpty { pending = try http.follow(link, from: current) }
        case .linkHeader:
            if let link = Self.nextLink(headers) { pending = try http.follow(link, from: current) }
        case .cursor(let cursor):
            if let value = RestConnector.scalar(JSONPointer.resolve(cursor.nextCursorPath, in: body)), !value.isEmpty {
                pending = http.url(path, query: query + [(cursor.cursorParam, value)])
            }
        // Offset and page streams end on an empty page, not a short one: APIs cap their pages below
        // the size asked for, and a stream that stopped early would tombstone what it did not reach.
        case .offset(let offset):
            position += count
            if count > 0 {
                pending = http.url(path, query: query + [(offset.offsetParam, String(position)), (offset.limitParam, String(offset.limit))])
            }
        case .page(let page):
            // A tenant may start at any page; the last one an Int can name ends the stream.
            guard position < Int.max else { break }
            position += 1
            if count > 0 {
                pending = http.url(path, query: query + [(page.pageParam, String(position)), (page.sizeParam, String(page.size))])
            }
        }
        isDone = pending == nil
    }

    /// Whether the next page is named by a position (offset or page number) the API may ignore.
    var pagesByPosition: Bool {
        switch pagination {
        case .offset, .page: true
        case .singlePage, .nextURL, .linkHeader, .cursor: false
        }
    }

    /// The `rel="next"` target of a `Link` header (RFC 8288).
    static func nextLink(_ headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Link"] {
            let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isNext = parts.dropFirst().contains { parameter in
                parameter.replacingOccurrences(of: " ", with: "").lowercased() == "rel=\"next\"" || parameter.lowercased() == "rel=next"
            }
            if isNext {
                return String(target.dropFirst().dropLast())
            }
        }
        return nil
    }
}
