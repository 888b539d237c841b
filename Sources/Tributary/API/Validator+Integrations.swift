import Foundation
import TributaryConnectors

extension Validator {
    mutating func syncFrequency(_ minutes: Int) -> Int? {
        guard (30...1440).contains(minutes) else {
            fail("sync_frequency_minutes", "must be from 30 to 1440")
            return nil
        }
        return minutes
    }

    /// Per-stream overrides, each of one of `streams` (the integration's) and holding only a
    /// `sync_frequency_minutes` within bounds; every fault named by its field.
    mutating func streamSettings(_ value: [String: JSONValue], streams: [String]) -> [String: StreamSettings]? {
        let before = errors.count
        var settings: [String: StreamSettings] = [:]
        for (stream, entry) in value.sorted(by: { $0.key < $1.key }) {
            let field = "stream_settings.\(stream)"
            guard streams.contains(stream) else {
                fail(field, "is not one of the integration's streams: \(streams.joined(separator: ", "))")
                continue
            }
            guard case .object(let members) = entry else {
                fail(field, "must be an object such as {\"sync_frequency_minutes\": 60}")
                continue
            }
            for unknown in members.keys.sorted() where unknown != "sync_frequency_minutes" {
                fail("\(field).\(unknown)", "is not a stream setting; the one setting is sync_frequency_minutes")
            }
            let range = StreamSettings.frequencyRange
            guard case .number(let number)? = members["sync_frequency_minutes"], let minutes = Int(exactly: number), range.contains(minutes)
            else {
                fail("\(field).sync_frequency_minutes", "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                continue
            }
            settings[stream] = StreamSettings(syncFrequencyMinutes: minutes)
        }
        return errors.count == before ? settings : nil
    }

    /// The config checked against the provider's JSON Schema, with its defaults filled in.
    mutating func config(_ config: [String: JSONValue], provider: ProviderDescriptor) -> [String: JSONValue]? {
        let violations = provider.violations(config: config)
        for violation in violations {
            fail(violation.path, violation.message)
        }
        guard violations.isEmpty, case .object(let filled) = JSONSchema.applyingDefaults(.object(config), schema: provider.configSchema)
        else { return nil }
        return filled
    }

    /// Stream names the provider serves (for `rest`, the config declares), each once, in the order given.
    mutating func streams(_ names: [String], provider: ProviderDescriptor, config: [String: JSONValue]) -> [String]? {
        let available = provider.streams(config: config)
        var result: [String] = []
        var failed = false
        if names.isEmpty {
            fail("streams", "must name at least one stream")
            failed = true
        }
        for (index, name) in names.enumerated() {
            if !available.contains(where: { $0.name == name }) {
                fail("streams[\(index)]", "must be one of: \(available.map(\.name).joined(separator: ", "))")
                failed = true
            } else if !result.contains(name) {
                result.append(name)
            }
        }
        return failed ? nil : result
    }

    /// An API key given for an existing integration (OAuth credentials come through the flow).
    mutating func apiKey(_ body: IntegrationsController.CredentialBody, provider: ProviderDescriptor, field: String) -> CredentialSecret? {
        let before = errors.count
        let (secret, _) = credential(body, provider: provider, field: field)
        guard errors.count == before else { return nil }
        guard let secret, case .apiKey = secret else {
            fail(field.isEmpty ? "type" : field + ".type", "must be api_key; OAuth credentials come through /oauth/authorize")
            return nil
        }
        return secret
    }

    /// The credential of a new integration, and the status it starts in.
    mutating func credential(
        _ body: IntegrationsController.CredentialBody?,
        provider: ProviderDescriptor,
        field: String = "credential"
    ) -> (CredentialSecret?, IntegrationStatus) {
        let prefix = field.isEmpty ? "" : field + "."
        let supported = provider.authTypes.filter { $0 != .none }
        guard let body else {
            if supported.isEmpty || provider.authTypes.contains(.none) { return (nil, .active) }
            if supported.contains(.oauth2) { return (nil, .pendingAuthorization) }
            fail(field.isEmpty ? "type" : field, "is required: \(provider.name) needs an API key")
            return (nil, .active)
        }
        guard let type = AuthType(rawValue: body.type), type != .none, supported.contains(type) else {
            let allowed = supported.map(\.rawValue).joined(separator: ", ")
            fail(prefix + "type", supported.isEmpty ? "is not allowed: \(provider.name) needs no credential" : "must be one of: \(allowed)")
            return (nil, .active)
        }
        switch type {
        case .oauth2:
            if body.apiKey != nil { fail(prefix + "api_key", "is not allowed with type oauth2") }
            return (nil, .pendingAuthorization)
        case .apiKey:
            guard let sent = body.apiKey, case let key = sent.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
                fail(prefix + "api_key", "is required")
                return (nil, .active)
            }
            // As sent, in code points, as the spec's `maxLength` counts.
            guard sent.unicodeScalars.count <= 4096, !key.containsControlCharacter else {
                fail(prefix + "api_key", "must be at most 4096 characters, with no control characters (a line break, say)")
                return (nil, .active)
            }
            return (.apiKey(key), .active)
        case .none:
            return (nil, .active)
        }
    }
}
