import Foundation
import Hummingbird

/// An API whose every answer takes `delay`, serving `pages` pages of `perPage` records under
/// `/pages/<stream>?page=N` (then an empty page), and counting how many requests are in flight at
/// once: what a run's concurrent streams look like from the provider's side. A stream named in
/// `failing` answers 400 from its second page on.
public actor SlowPagesAPI {
    let pages: Int
    let perPage: Int
    let delay: Duration
    private var failing: Set<String> = []
    private var inFlight = 0
    public private(set) var mostInFlight = 0
    public private(set) var requests: [String: Int] = [:]

    public init(pages: Int, perPage: Int, delay: Duration) {
        self.pages = pages
        self.perPage = perPage
        self.delay = delay
    }

    public func fail(_ stream: String?) { failing = stream.map { [$0] } ?? [] }

    public nonisolated var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("pages/:stream") { request, context in
            let stream = context.parameters.get("stream") ?? ""
            let page = request.uri.queryParameters["page"].flatMap { Int($0) } ?? 1
            return try await self.serve(stream: stream, page: page)
        }
        return router
    }

    private func serve(stream: String, page: Int) async throws -> Response {
        requests[stream, default: 0] += 1
        inFlight += 1
        mostInFlight = max(mostInFlight, inFlight)
        defer { inFlight -= 1 }
        try await Task.sleep(for: delay)
        if failing.contains(stream) && page >= 2 {
            return FakeJSONAPI.json(#"{"error":"this page is gone"}"#, status: .badRequest)
        }
        let records =
            (1...pages).contains(page)
            ? (0..<perPage).map { #"{"id":"\#(stream)-\#((page - 1) * perPage + $0)","page":\#(page)}"# }
            : []
        return FakeJSONAPI.json(#"{"items":[\#(records.joined(separator: ","))]}"#)
    }
}
