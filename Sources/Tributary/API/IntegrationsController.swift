import Foundation
import Hummingbird
import TributaryConnectors

/// `/v1/tenants/{tenant_id}/integrations`: a tenant's connected accounts.
struct IntegrationsController {
    let store: Store
    let vault: CredentialVault
    let catalog: ProviderCatalog
    let maxAttempts: Int
    let limits: TenantLimits

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post(use: create).get(use: list).get(":integration_id", use: show)
            .patch(":integration_id", use: update).delete(":integration_id", use: delete)
            .put(":integration_id/credential", use: putCredential)
    }

    struct CredentialBody: Decodable {
        var type: String
        var apiKey: String?
    }

    struct CreateBody: Decodable {
        var provider: String
        var name: String
        var config: [String: JSONValue]?
        var streams: [String]?
        var syncFrequencyMinutes: Int?
        var streamSettings: [String: JSONValue]?
        var credential: CredentialBody?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var config: [String: JSONValue]?
        var streams: [String]?
        var syncFrequencyMinutes: Int?
        /// Replaces every per-stream override (`{}` drops them all).
        var streamSettings: [String: JSONValue]?
        var status: String?
        /// A new API key, given with a change of `config.base_url` or `config.auth` so that the
        /// integration keeps a credential (one given for the old place is dropped otherwise).
        var credential: CredentialBody?
    }

    @Sendable func create(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Integration> {
        let tenantID = try await context.existingTenantID(in: store)
        let body = try await request.decodeJSON(as: CreateBody.self, context: context)
        var validator = Validator()
        let provider = catalog.provider(id: body.provider)
        if provider == nil {
            validator.fail("provider", "must be one of: \(catalog.providers.map(\.id).joined(separator: ", "))")
        }
        let name = validator.name(body.name, field: "name")
        let frequency = validator.syncFrequency(body.syncFrequencyMinutes ?? 360)
        var config: [String: JSONValue]?
        var streams: [String]?
        var streamSettings: [String: StreamSettings]? = [:]
        var secret: CredentialSecret?
        var status = IntegrationStatus.active
        if let provider {
            config = validator.config(body.config ?? [:], provider: provider)
            if let config {
                streams = validator.streams(
                    body.streams ?? provider.streams(config: config).map(\.name),
                    provider: provider,
                    config: config
                )
            }
            if let given = body.streamSettings, let streams { streamSettings = validator.streamSettings(given, streams: streams) }
            (secret, status) = validator.credential(body.credential, provider: provider)
        }
        try validator.check()
        guard let provider, let name, let frequency, let config, let streams, let streamSettings else {
            throw APIError.validation(validator.errors)
        }

        let draft = IntegrationDraft(
            id: UUID(),
            tenantID: tenantID,
            provider: provider.id,
            name: name,
            config: config,
            streams: streams,
            syncFrequencyMinutes: frequency,
            streamSettings: streamSettings,
            status: status,
            maxAttempts: maxAttempts
        )
        let sealed = try secret.map { try vault.seal($0, tenantID: tenantID, integrationID: draft.id, binding: CredentialBinding(config: config)) }
        let integration = try await store.createIntegration(
            draft,
            credential: sealed,
            maxIntegrations: limits.maxIntegrations,
            actor: context.caller.actor
        )
        context.logger.info("integration created", metadata: ["integration_id": "\(integration.id.lowercased)", "provider": "\(provider.id)"])
        return JSONResponse(
            integration,
            status: .created,
            headers: [.location: "/v1/tenants/\(tenantID.lowercased)/integrations/\(integration.id.lowercased)"]
        )
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<Integration>> {
        let tenantID = try await context.existingTenantID(in: store)
        let query = try ListQuery(request)
        let parameters = request.uri.queryParameters
        let provider = parameters["provider"].map(String.init)
        var status: IntegrationStatus?
        if let text = parameters["status"].map(String.init) {
            guard let value = IntegrationStatus(rawValue: text) else {
                let allowed = IntegrationStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.badQuery(field: "status", "must be one of: \(allowed)")
            }
            status = value
        }
        let page = try await store.integrations(
            tenantID: tenantID,
            provider: provider,
            status: status,
            after: try query.timeKeyset(),
            limit: query.limit
        )
        return JSONResponse(ListBody(page))
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Integration> {
        JSONResponse(try await context.integration(in: store))
    }

    @Sendable func update(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Integration> {
        let current = try await context.integration(in: store)
        let body = try await request.decodeJSON(as: UpdateBody.self, context: context)
        guard let provider = catalog.provider(id: current.provider) else { throw APIError.notFound("no such integration") }
        var validator = Validator()
        var patch = IntegrationPatch()
        patch.name = validator.name(body.name, field: "name")
        patch.config = body.config.flatMap { validator.config($0, provider: provider) }
        if body.streams != nil || (provider.dynamicStreams && patch.config != nil) {
            // The streams must exist in the config that will stand: the new one, or the current.
            patch.streams = validator.streams(
                body.streams ?? current.streams,
                provider: provider,
                config: patch.config ?? current.config
            )
        }
        patch.syncFrequencyMinutes = body.syncFrequencyMinutes.flatMap { validator.syncFrequency($0) }
        // Overrides of the streams that will stand: the new ones, or the current.
        patch.streamSettings = body.streamSettings.flatMap { validator.streamSettings($0, streams: patch.streams ?? current.streams) }
        if let status = body.status {
            switch status {
            case "active": patch.status = .active
            case "paused": patch.status = .paused
            default: validator.fail("status", "must be one of: active, paused")
            }
        }
        if body.name == nil && body.config == nil && body.streams == nil && body.syncFrequencyMinutes == nil && body.status == nil
            && body.credential == nil && body.streamSettings == nil
        {
            validator.fail("", "give at least one of name, config, streams, sync_frequency_minutes, stream_settings, status, credential")
        }
        var newKey: CredentialSecret?
        if let credential = body.credential {
            newKey = validator.apiKey(credential, provider: provider, field: "credential")
        }
        try validator.check()
        let binding = CredentialBinding(config: patch.config ?? current.config)
        if let newKey {
            patch.credential = .replace(try vault.seal(newKey, tenantID: current.tenantID, integrationID: current.id, binding: binding))
        } else if current.credential != nil, binding != CredentialBinding(config: current.config) {
            // The stored secret was given for another host or placement: it is never sent there.
            let reason = binding.origin != CredentialBinding(config: current.config).origin ? "base_url_changed" : "auth_changed"
            patch.credential = .clear(reason: reason)
        }
        guard
            let updated = try await store.updateIntegration(
                tenantID: current.tenantID,
                id: current.id,
                patch: patch,
                actor: context.caller.actor
            )
        else { throw APIError.notFound("no such integration") }
        return JSONResponse(updated)
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let tenantID = try context.tenantID()
        let id = try context.uuidParameter("integration_id", "integration")
        return try .deleted(try await store.deleteIntegration(tenantID: tenantID, id: id, actor: context.caller.actor), "integration")
    }

    @Sendable func putCredential(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<Integration> {
        let current = try await context.integration(in: store)
        let body = try await request.decodeJSON(as: CredentialBody.self, context: context)
        guard let provider = catalog.provider(id: current.provider) else { throw APIError.notFound("no such integration") }
        var validator = Validator()
        let secret = validator.apiKey(body, provider: provider, field: "")
        try validator.check()
        guard let secret else { throw APIError.validation(validator.errors) }
        let sealed = try vault.seal(secret, for: current)
        guard
            let updated = try await store.replaceCredential(
                tenantID: current.tenantID,
                integrationID: current.id,
                credential: sealed,
                transition: \.afterNewAPIKey,
                action: .credentialUpdated,
                actor: context.caller.actor
            )
        else { throw APIError.notFound("no such integration") }
        return JSONResponse(updated)
    }
}
