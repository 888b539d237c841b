import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Stripe's `Idempotency-Key` on every POST: the first request with a key runs; a retry with the
/// same key and the same request (method, path, body) within 24 hours gets the first answer again
/// (marked `Idempotent-Replayed: true`), another request with that key 422, and a retry while the
/// first still runs 409. Answers of 5xx are not kept, so that a retry runs anew. Kept answers are
/// sealed by the vault: a POST may answer a secret (a new API key).
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AuthenticatedContext

    let store: Store
    let keyRing: KeyRing

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        guard Self.isValid(key) else {
            throw APIError.badRequest(
                "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
                errors: [FieldError(field: "Idempotency-Key", message: "must be 1 to 255 printable ASCII characters")]
            )
        }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let (scope, tenantID) = context.caller.idempotencyScope
        let claim = try await store.claimIdempotencyKey(
            scope: scope,
            tenantID: tenantID,
            key: key,
            fingerprint: Self.fingerprint(request, body: body)
        )
        switch claim {
        case .mismatch:
            throw APIError(
                status: .unprocessableContent,
                slug: "idempotency-key-reused",
                title: "Idempotency-Key reused",
                detail: "this Idempotency-Key was already used for a different request; use a new key for a new request",
                errors: [FieldError(field: "Idempotency-Key", message: "was already used for a different request")]
            )
        case .inProgress:
            throw APIError.conflict("a request with this Idempotency-Key is still being processed; retry it shortly")
        case .replay(let id, let answer):
            return try replay(answer, owner: .idempotentAnswer(tenantID: tenantID, id: id))
        case .claimed(let id):
            return await run(request, context: context, next: next, claim: id, owner: .idempotentAnswer(tenantID: tenantID, id: id))
        }
    }

    /// Runs the request and keeps its answer; whatever it throws is answered (and kept) here, as
    /// the problem middleware would answer it.
    private func run(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response,
        claim id: UUID,
        owner: SecretOwner
    ) async -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = ProblemMiddleware<Context>.problem(for: error, logger: context.logger)
                .response(requestID: context.logger[metadataKey: "request_id"]?.description)
        }
        do {
            guard response.status.code < 500 else {
                try await store.releaseIdempotencyKey(id: id)
                return response
            }
            let body = try await Self.collect(response.body)
            try await store.storeIdempotentAnswer(
                id: id,
                StoredAnswer(
                    status: Int(response.status.code),
                    contentType: response.headers[.contentType],
                    location: response.headers[.location],
                    body: try keyRing.seal(Data(buffer: body), for: owner)
                )
            )
            response.body = .init(byteBuffer: body)
        } catch {
            // The answer still goes out; the key stays locked until its lease lapses, then a retry runs anew.
            context.logger.warning("could not keep the answer of an idempotent request", metadata: ["error": "\(error)"])
        }
        return response
    }

    private func replay(_ answer: StoredAnswer, owner: SecretOwner) throws -> Response {
        let body = try keyRing.open(answer.body, for: owner)
        var headers: HTTPFields = [.idempotentReplayed: "true"]
        if let contentType = answer.contentType { headers[.contentType] = contentType }
        if let location = answer.location { headers[.location] = location }
        let status = HTTPResponse.Status(code: answer.status)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Printable ASCII, 1 to 255 characters (a UUID, in practice).
    static func isValid(_ key: String) -> Bool {
        (1...255).contains(key.utf8.count) && key.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// What makes two requests the same: method, path with query, and body.
    static func fingerprint(_ request: Request, body: ByteBuffer) -> Data {
        var hash = SHA256()
        hash.update(data: Data("\(request.method.rawValue) \(request.uri.description)\n".utf8))
        hash.update(data: Data(buffer: body))
        return Data(hash.finalize())
    }

    /// A response body in one buffer (answers here are small JSON documents).
    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        let collector = BodyCollector()
        try await body.write(collector)
        return collector.buffer.withLockedValue { $0 }
    }
}

/// Collects what a response body writes.
private final class BodyCollector: ResponseBodyWriter, Sendable {
    let buffer = NIOLockedValueBox(ByteBuffer())

    func write(_ part: ByteBuffer) async throws {
        var part = part
        _ = buffer.withLockedValue { $0.writeBuffer(&part) }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}
