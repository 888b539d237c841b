import Foundation

/// Seals credentials for their integration and opens them again; the only place that sees both
/// the key ring and a credential's plaintext.
struct CredentialVault: Sendable {
    let keyRing: KeyRing

    /// Seals `secret` for the integration, bound to `binding` (where it may be sent).
    func seal(_ secret: CredentialSecret, tenantID: UUID, integrationID: UUID, binding: CredentialBinding) throws -> SealedCredential {
        let plaintext = try JSONCoding.encoder.encode(secret)
        let expiresAt: Date? = if case .oauth2(let tokens) = secret { tokens.expiresAt } else { nil }
        return SealedCredential(
            type: secret.type,
            sealed: try keyRing.seal(plaintext, for: .credential(tenantID: tenantID, integrationID: integrationID, binding: binding)),
            fingerprint: keyRing.fingerprint(secret.fingerprintSource),
            expiresAt: expiresAt,
            binding: binding
        )
    }

    /// Seals `secret` for an existing integration, bound to the config it has now.
    func seal(_ secret: CredentialSecret, for integration: Integration) throws -> SealedCredential {
        try seal(secret, tenantID: integration.tenantID, integrationID: integration.id, binding: CredentialBinding(config: integration.config))
    }

    func open(_ stored: StoredCredential) throws -> CredentialSecret {
        let owner = SecretOwner.credential(tenantID: stored.tenantID, integrationID: stored.integrationID, binding: stored.binding)
        let plaintext = try keyRing.open(stored.sealed, for: owner)
        do {
            // Keys read either way: boxes sealed before the coding was configured once are camelCased.
            return try JSONCoding.decoder.decode(CredentialSecret.self, fromOutside: plaintext)
        } catch {
            throw VaultError.cannotOpen
        }
    }
}
