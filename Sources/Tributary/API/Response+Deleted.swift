import Hummingbird

extension Response {
    /// What a DELETE answers: 204 when there was such a resource (now gone), else 404 naming it.
    static func deleted(_ existed: Bool, _ what: String) throws(APIError) -> Response {
        guard existed else { throw APIError.notFound("no such \(what)") }
        return Response(status: .noContent)
    }
}
