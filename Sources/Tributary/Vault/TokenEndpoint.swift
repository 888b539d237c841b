import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import TributaryConnectors

/// An OAuth client's credentials and where its provider's token endpoint is.
struct OAuthClientConfig: Sendable {
    var clientID: String
    var clientSecret: String
    var tokenURL: String
    var authentication: ClientAuthentication
}

/// Why a token request failed. `invalidGrant` is final (a person must reconnect); the others may pass.
enum TokenEndpointError: Error, Sendable, Equatable {
    /// RFC 6749 §5.2 `invalid_grant`: the code or refresh token is expired, revoked or already used.
    case invalidGrant(String)
    /// Any other OAuth error the provider named (`invalid_client`, `unauthorized_client`, …).
    case rejected(code: String, description: String)
    /// The endpoint could not be reached or answered something that is not a token.
    case unavailable(String)
}

/// Talks to a provider's token endpoint (RFC 6749 §4.1.3 and §6).
struct TokenEndpoint: Sendable {
    let httpClient: HTTPClient
    let logger: Logger

    /// The limit on one token call, answer included (the refresh lease is sized from it).
    static let timeoutSeconds = 30

    func exchange(code: String, verifier: String, redirectURI: String, client: OAuthClientConfig) async throws(TokenEndpointError) -> OAuthTokens {
        try await request(
            ["grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI, "code_verifier": verifier],
            client: client,
            previousRefreshToken: nil
        )
    }

    func refresh(refreshToken: String, client: OAuthClientConfig) async throws(TokenEndpointError) -> OAuthTokens {
        try await request(["grant_type": "refresh_token", "refresh_token": refreshToken], client: client, previousRefreshToken: refreshToken)
    }

    private func request(
        _ fields: [String: String],
        client: OAuthClientConfig,
        previousRefreshToken: String?
    ) async throws(TokenEndpointError) -> OAuthTokens {
        var form = fields
        var request = HTTPClientRequest(url: client.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        switch client.authentication {
        case .basic:
            let credentials = "\(Self.formEncode(client.clientID)):\(Self.formEncode(client.clientSecret))"
            request.headers.add(name: "Authorization", value: "Basic \(Data(credentials.utf8).base64EncodedString())")
        case .body:
            form["client_id"] = client.clientID
            form["client_secret"] = client.clientSecret
        }
        let body = form.sorted { $0.key < $1.key }.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))

        let path = URL(string: client.tokenURL)?.path ?? "token endpoint"
        let status: UInt
        let data: Data
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(Int64(Self.timeoutSeconds)))
            status = response.status.code
            data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            logger.warning("token endpoint unreachable", metadata: ["path": "\(path)", "error_type": "\(type(of: error))"])
            throw .unavailable("the token endpoint \(path) could not be reached")
        }
        let json = (try? JSONCoding.decoder.decode([String: JSONValue].self, fromOutside: data)) ?? [:]
        guard (200..<300).contains(status) else {
            let code = json["error"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? "http_\(status)"
            let description = json["error_description"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? ""
            if code == "invalid_grant" { throw .invalidGrant(description) }
            if status >= 500 || status == 429 { throw .unavailable("the token endpoint \(path) answered \(status)") }
            throw .rejected(code: code, description: description)
        }
        guard case .string(let accessToken)? = json["access_token"], !accessToken.isEmpty else {
            throw .unavailable("the token endpoint \(path) answered without an access_token")
        }
        var expiresAt: Date?
        if case .number(let seconds)? = json["expires_in"] { expiresAt = Date(timeIntervalSinceNow: seconds) }
        if case .string(let text)? = json["expires_in"], let seconds = Double(text) { expiresAt = Date(timeIntervalSinceNow: seconds) }
        func string(_ key: String) -> String? {
            if case .string(let value)? = json[key], !value.isEmpty { return value }
            return nil
        }
        // A provider that does not rotate refresh tokens sends none back: keep the one we have.
        return OAuthTokens(
            accessToken: accessToken,
            refreshToken: string("refresh_token") ?? previousRefreshToken,
            tokenType: string("token_type"),
            scope: string("scope"),
            expiresAt: expiresAt
        )
    }

    /// application/x-www-form-urlencoded, as RFC 6749 Appendix B asks.
    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: "%20", with: "+")
    }
}
