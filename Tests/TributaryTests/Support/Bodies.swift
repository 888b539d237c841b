import Foundation

// What tests send, encoded with `Wire.encoder`: members left nil are left out of the body.
// Bodies that are themselves the point of a test (bad JSON, wrong types, NUL characters) stay
// raw strings where they are sent.

/// `POST /v1/tenants`, `PATCH /v1/tenants/{id}`.
struct TenantBody: Encodable {
    var name: String?
    var alertEmails: [String]?
}

/// `POST /v1/tenants/{id}/api-keys`.
struct KeyBody: Encodable {
    var name: String
}

/// `POST …/integrations` and `PATCH …/integrations/{id}`.
struct IntegrationBody: Encodable {
    var provider: String?
    var name: String?
    var streams: [String]?
    var syncFrequencyMinutes: Int?
    var status: String?
    var config: [String: JSON]?
    var credential: CredentialBody?
}

/// `PUT …/credential`, or an integration's first credential.
struct CredentialBody: Encodable {
    var type: String
    var apiKey: String

    static func apiKey(_ key: String) -> CredentialBody { CredentialBody(type: "api_key", apiKey: key) }
}

/// `POST …/syncs`.
struct SyncBody: Encodable {
    var streams: [String]?
    var fullResync: Bool?
}

/// `PUT /v1/providers/{id}/oauth-app`.
struct OAuthAppBody: Encodable {
    var clientID: String
    var clientSecret: String
    var scopes: [String]?
    var authorizeURL: String?
    var tokenURL: String?
}
