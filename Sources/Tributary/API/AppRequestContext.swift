import Foundation
import Hummingbird

/// The context of every request: the 1 MiB body limit, and the caller once authenticated.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.caller = nil
    }

    public var maxUploadSize: Int { 1 << 20 }
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}

/// The context behind the auth middleware: a caller is always there.
public struct AuthenticatedContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    let caller: Caller

    public init(context: AppRequestContext) throws {
        guard let caller = context.caller else { throw APIError.unauthorized("missing bearer token") }
        self.coreContext = context.coreContext
        self.caller = caller
    }

    public var maxUploadSize: Int { 1 << 20 }
    public var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}

/// Request bodies, decoded as `JSONCoding` says and without the depth trap of Foundation's
/// decoder (see `JSONDecoder.decode(_:fromOutside:)`): a body is a stranger's bytes.
public struct APIRequestDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return try JSONCoding.decoder.decode(T.self, fromOutside: Data(buffer: buffer))
    }
}
