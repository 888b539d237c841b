import Crypto
import Foundation
import Hummingbird

/// An OAuth 2.0 authorization server as RFC 6749 and RFC 7636 describe it: authorization codes
/// bound to a PKCE S256 challenge, client authentication by Basic or by body, access tokens that
/// expire, and refresh tokens that rotate (a spent one answers `invalid_grant`).
public actor FakeOAuthProvider {
    public let clientID: String
    public let clientSecret: String
    public let clientAuthentication: String  // "basic" or "body"
    public var accessTokenLifetime: Int
    /// Slows the token endpoint, so that concurrent refreshes overlap.
    public var tokenDelay: Duration = .zero
    /// Slows a refresh's answer after the refresh token has rotated (the old one is spent, the new one
    /// issued), as a slow network or a provider under load does: a client stopped meanwhile loses it.
    public var answerDelay: Duration = .zero
    /// Told every access token issued, e.g. for a fake API to accept it.
    private var onIssue: (@Sendable (String) async -> Void)?

    public private(set) var tokenRequests = 0
    public private(set) var refreshRequests = 0
    public private(set) var issuedAccessTokens: [String] = []
    public private(set) var issuedRefreshTokens: [String] = []

    private var codes: [String: (challenge: String, redirectURI: String)] = [:]
    private var liveRefreshTokens: Set<String> = []
    private var accessTokens: [String: Date] = [:]

    public init(
        clientID: String = "client-123",
        clientSecret: String = "s3cr3t-client",
        clientAuthentication: String = "basic",
        accessTokenLifetime: Int = 3600
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientAuthentication = clientAuthentication
        self.accessTokenLifetime = accessTokenLifetime
    }

    public func setAccessTokenLifetime(_ seconds: Int) { accessTokenLifetime = seconds }
    public func setTokenDelay(_ delay: Duration) { tokenDelay = delay }
    public func setAnswerDelay(_ delay: Duration) { answerDelay = delay }
    public func setOnIssue(_ hook: @escaping @Sendable (_ accessToken: String) async -> Void) { onIssue = hook }

    /// Revokes every refresh token, as when a person disconnects the app at the provider.
    public func revokeRefreshTokens() { liveRefreshTokens.removeAll() }

    /// Expires every access token now.
    public func expireAccessTokens() {
        for token in accessTokens.keys { accessTokens[token] = .distantPast }
    }

    public func isValidAccessToken(_ token: String) -> Bool {
        accessTokens[token].map { $0 > Date() } ?? false
    }

    public nonisolated var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("oauth/authorize") { request, _ in try await self.authorize(request) }
        router.post("oauth/token") { request, context in try await self.token(request, context: context) }
        router.get("api/me") { request, _ in
            let token = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) } ?? ""
            return await self.isValidAccessToken(token)
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
                : Response(status: .unauthorized)
        }
        return router
    }

    private func authorize(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        guard query["response_type"] == "code", query["client_id"].map(String.init) == clientID,
            query["code_challenge_method"] == "S256",
            let challenge = query["code_challenge"].map(String.init), challenge.count == 43,
            let redirect = query["redirect_uri"].map(String.init), let state = query["state"].map(String.init)
        else {
            return Response(status: .badRequest)
        }
        let code = "code-" + UUID().uuidString
        codes[code] = (challenge, redirect)
        var location = URLComponents(string: redirect)!
        location.queryItems = [URLQueryItem(name: "code", value: code), URLQueryItem(name: "state", value: state)]
        return Response(status: .found, headers: [.location: location.string!])
    }

    private func token(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 1 << 16))
        let form = Self.parseForm(body)
        tokenRequests += 1
        if tokenDelay > .zero { try await Task.sleep(for: tokenDelay) }

        guard authenticates(request, form: form) else { return Self.error(401, "invalid_client") }
        switch form["grant_type"] {
        case "authorization_code":
            guard let code = form["code"], let issued = codes.removeValue(forKey: code) else { return Self.error(400, "invalid_grant") }
            guard form["redirect_uri"] == issued.redirectURI else { return Self.error(400, "invalid_grant") }
            guard let verifier = form["code_verifier"], Self.challenge(for: verifier) == issued.challenge else {
                return Self.error(400, "invalid_grant")
            }
            return await issueTokens()
        case "refresh_token":
            refreshRequests += 1
            guard let token = form["refresh_token"], liveRefreshTokens.remove(token) != nil else {
                return Self.error(400, "invalid_grant")
            }
            let answer = await issueTokens()
            if answerDelay > .zero { try await Task.sleep(for: answerDelay) }
            return answer
        default:
            return Self.error(400, "unsupported_grant_type")
        }
    }

    private func authenticates(_ request: Request, form: [String: String]) -> Bool {
        if clientAuthentication == "basic" {
            guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(header.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) })
            else { return false }
            return decoded == "\(clientID):\(clientSecret)" && form["client_secret"] == nil
        }
        return form["client_id"] == clientID && form["client_secret"] == clientSecret
    }

    private func issueTokens() async -> Response {
        let access = "at-" + UUID().uuidString
        let refresh = "rt-" + UUID().uuidString
        accessTokens[access] = Date(timeIntervalSinceNow: Double(accessTokenLifetime))
        liveRefreshTokens.insert(refresh)
        issuedAccessTokens.append(access)
        issuedRefreshTokens.append(refresh)
        await onIssue?(access)
        let json =
            #"{"access_token":"\#(access)","refresh_token":"\#(refresh)","token_type":"Bearer","expires_in":\#(accessTokenLifetime),"scope":"read"}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func challenge(for verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func error(_ status: Int, _ code: String) -> Response {
        Response(
            status: .init(code: status),
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"\#(code)","error_description":"fake provider says \#(code)"}"#))
        )
    }

    static func parseForm(_ body: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2 { result[parts[0]] = parts[1] }
        }
        return result
    }
}
