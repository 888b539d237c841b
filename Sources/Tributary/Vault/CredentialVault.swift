import Foundation

/// Seals credentials for their integration and opens them again; the only place that sees both
/// the key ring and a credential's plaintext.
struct CredentialVault: Sendable {
    let keyRing: KeyRing

    func seal(_ secret: CredentialSecret, tenantID: UUID, integrationID: UUID) throws -> SealedCredential {
        let plaintext = try JSONCoding.encoder.encode(secret)
        let expiresAt: Date? = if case .oauth2(let tokens) = secret { tokens.expiresAt } else { nil }
        return SealedCredential(
            type: secret.type,
            sealed: try keyRing.seal(plaintext, for: .credential(tenantID: tenantID, integrationID: integrationID)),
            fingerprint: keyRing.fingerprint(secret.fingerprintSource),
            expiresAt: expiresAt
        )
    }

    func open(_ stored: StoredCredential) throws -> CredentialSecret {
        let plaintext = try keyRing.open(stored.sealed, for: .credential(tenantID: stored.tenantID, integrationID: stored.integrationID))
        do {
            // Keys read either way: boxes sealed before the coding was configured once are camelCased.
            return try JSONCoding.decoder.decode(CredentialSecret.self, from: plaintext)
        } catch {
            throw VaultError.cannotOpen
        }
    }
}
