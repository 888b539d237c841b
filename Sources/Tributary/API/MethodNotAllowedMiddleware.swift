import HTTPTypes
import Hummingbird

/// Turns the router's 404 for a path it knows, asked with a method it does not answer, into a
/// 405 whose `Allow` lists the methods that path answers (RFC 9110 §15.5.6). Added to the
/// router after every route, it wraps only the router's not-found responder; the 404s the
/// handlers throw are `APIError`s and pass through untouched.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = routes.methods(forPath: request.uri.path) else { throw error }
            throw APIError.methodNotAllowed(
                "\(request.method) is not an operation of this resource; it answers \(allowed.joined(separator: ", "))",
                allow: allowed
            )
        }
    }
}

/// Each route's path template with the methods registered on it, as the router holds them.
struct AllowedMethods: Sendable {
    private struct Template: Sendable {
        var components: [RouterPath.Element]
        var methods: Set<String>
    }
    private let templates: [Template]

    /// `headWithGet`: the router answers HEAD wherever it has a GET (its option
    /// `autoGenerateHeadEndpoints`, whose HEADs its route list does not show).
    init<Context>(_ routes: [Router<Context>.RouteDescription], headWithGet: Bool) {
        var byPath: [String: Template] = [:]
        for route in routes {
            var methods = [route.method.rawValue]
            if headWithGet, route.method == .get { methods.append("HEAD") }
            byPath[route.path.description, default: Template(components: route.path.components, methods: [])]
                .methods.formUnion(methods)
        }
        templates = Array(byPath.values)
    }

    /// The methods of the template the router would resolve `path` to, sorted; nil when no
    /// template matches. Where several match, the router prefers a literal segment to a
    /// capture at the first place they differ, and so does this.
    func methods(forPath path: String) -> [String]? {
        let segments = path.split(separator: "/")
        var best: (rank: [Int], methods: Set<String>)?
        for template in templates where template.components.count == segments.count {
            guard zip(template.components, segments).allSatisfy({ $0 ~= $1 }) else { continue }
            let rank = zip(template.components, segments).map { $0 == $1 ? 1 : 0 }
            if let current = best, current.rank == rank {
                best = (rank, current.methods.union(template.methods))
            } else if best.map({ $0.rank.lexicographicallyPrecedes(rank) }) ?? true {
                best = (rank, template.methods)
            }
        }
        return best.map { $0.methods.sorted() }
    }
}
