import Foundation
import Hummingbird
import Logging
import TributaryConnectors

/// The one place where errors of every area become problem+json answers.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let problem = Self.problem(for: error, logger: context.logger)
            return problem.response(requestID: context.logger[metadataKey: "request_id"]?.description)
        }
    }

    static func problem(for error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return from(httpError: error)
        case let error as StoreError:
            switch error {
            case .conflict(let constraint):
                return .conflict("the change conflicts with an existing resource (\(constraint ?? "unique constraint"))")
            case .missingReference:
                return .notFound("a resource the request refers to does not exist")
            case .unavailable(let reason):
                logger.error("database unavailable", metadata: ["error": "\(reason)"])
                return .unavailable("the database cannot be reached; try again shortly")
            case .invalidInput(let reason):
                logger.info("database refused a value", metadata: ["error": "\(reason)"])
                return .badRequest("the request holds a value that cannot be stored or searched for (a NUL character, or a date out of range)")
            case .transient(let reason):
                logger.warning("transient database conflict", metadata: ["error": "\(reason)"])
                return .unavailable("the request collided with concurrent work; try again")
            case .failed(let reason):
                logger.error("database error", metadata: ["error": "\(reason)"])
                return .unexpected
            }
        case let error as LimitExceeded:
            return APIError(
                status: .conflict,
                slug: "limit-exceeded",
                title: "Limit exceeded",
                detail: "the tenant has reached its limit of \(error.max) (\(error.limit)); ask the operator to raise it",
                extensions: ["limit": .string(error.limit), "max": .number(Double(error.max))]
            )
        case let error as IntegrationTransitionError:
            return .conflict(error.message)
        case let error as OAuthFlow.FlowError:
            return from(flowError: error)
        case let error as TokenRefresher.RefreshError:
            switch error {
            case .noCredential, .notOAuth: return .conflict("the integration has no OAuth credential")
            case .reauthorizationRequired: return .conflict("the provider refused the refresh token: reconnect the integration")
            case .unavailable(let reason): return badGateway(reason)
            }
        case let error as VaultError:
            // A secret that does not open is our data's fault, never the client's; say no more.
            logger.error("vault error", metadata: ["error": "\(error)"])
            return .unexpected
        default:
            logger.error("unhandled error", metadata: ["error_type": "\(type(of: error))"])
            return .unexpected
        }
    }

    private static func from(flowError: OAuthFlow.FlowError) -> APIError {
        switch flowError {
        case .notOAuthProvider(let provider): return .conflict("\(provider) integrations do not use OAuth")
        case .noOAuthApp(let provider):
            return .conflict("no OAuth app is configured for \(provider): PUT /v1/providers/\(provider)/oauth-app first")
        case .unknownState: return .badRequest("the state is unknown, expired or already used: start the authorization again")
        case .integrationGone: return .badRequest("the integration of this authorization no longer exists")
        case .token(.invalidGrant(let description)):
            return .badRequest("the provider refused the authorization code (invalid_grant)\(description.isEmpty ? "" : ": \(description)")")
        case .token(.rejected(let code, let description)):
            return .badRequest("the provider refused the token request: \(code)\(description.isEmpty ? "" : ": \(description)")")
        case .token(.unavailable(let reason)): return badGateway(reason)
        }
    }

    private static func badGateway(_ detail: String) -> APIError {
        APIError(status: .badGateway, slug: "provider-unavailable", title: "Provider unavailable", detail: detail)
    }

    private static func from(httpError: HTTPError) -> APIError {
        switch httpError.status {
        case .notFound: return .notFound("no such resource")
        case .contentTooLarge: return .payloadTooLarge
        case .methodNotAllowed: return .methodNotAllowed("this resource does not answer that method", allow: nil)
        default:
            return APIError(
                status: httpError.status,
                slug: "http-\(httpError.status.code)",
                title: httpError.status.reasonPhrase,
                detail: httpError.body ?? httpError.status.reasonPhrase
            )
        }
    }
}

extension APIError {
    static let typeBase = "https://tributary.dev/problems/"

    /// The problem object: the RFC 9457 members, `request_id`, `errors` when there are any, and
    /// the extension members at the top level beside them.
    var body: [String: JSONValue] {
        var body = extensions
        body["type"] = .string(Self.typeBase + slug)
        body["title"] = .string(title)
        body["status"] = .number(Double(status.code))
        body["detail"] = .string(detail)
        if !errors.isEmpty {
            body["errors"] = .array(errors.map { ["field": .string($0.field), "message": .string($0.message)] })
        }
        return body
    }

    func response(requestID: String?) -> Response {
        var body = body
        if let requestID { body["request_id"] = .string(requestID) }
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized {
            headers[.wwwAuthenticate] = "Bearer"
        }
        if let retryAfterSeconds {
            headers[.retryAfter] = String(retryAfterSeconds)
        }
        if let allow {
            headers[.allow] = allow.joined(separator: ", ")
        }
        let data = (try? JSONCoding.encoder.encode(body)) ?? Data("{}".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
