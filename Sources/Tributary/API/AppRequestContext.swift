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
    public var requestDecoder: JSONDecoder { JSONCoding.decoder }
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
    public var requestDecoder: JSONDecoder { JSONCoding.decoder }
    public var responseEncoder: JSONEncoder { JSONCoding.encoder }
}
