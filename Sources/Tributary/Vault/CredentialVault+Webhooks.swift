import Foundation

extension CredentialVault {
    /// Seals a webhook endpoint's signing secret for that endpoint alone.
    func sealWebhookSecret(_ secret: String, tenantID: UUID, webhookID: UUID) throws -> SealedSecret {
        try keyRing.seal(secret, for: .webhookSecret(tenantID: tenantID, webhookID: webhookID))
    }

    func openWebhookSecret(_ target: WebhookTarget) throws(VaultError) -> String {
        try keyRing.openString(target.sealed, for: .webhookSecret(tenantID: target.tenantID, webhookID: target.id))
    }
}
