import Foundation
import Testing

@testable import Tributary

@Suite("Key ring: sealing and opening secrets")
struct VaultTests {
    let ring = try! KeyRing(parsing: "\(TestApp.key1),\(TestApp.key2)")
    let tenant = UUID()
    let integration = UUID()

    @Test("a sealed secret opens for its owner under the key it names")
    func roundTrip() throws {
        let sealed = try ring.seal("pk_live_123", for: .credential(tenantID: tenant, integrationID: integration, binding: nil))
        #expect(sealed.keyID == "k1")
        #expect(!String(decoding: sealed.box, as: UTF8.self).contains("pk_live_123"))
        #expect(try ring.openString(sealed, for: .credential(tenantID: tenant, integrationID: integration, binding: nil)) == "pk_live_123")
        let again = try ring.seal("pk_live_123", for: .credential(tenantID: tenant, integrationID: integration, binding: nil))
        #expect(again.box != sealed.box, "a fresh nonce each time")
    }

    @Test("a tampered box, or one moved to another owner or purpose, does not open")
    func tamperAndMisplace() throws {
        let owner = SecretOwner.credential(tenantID: tenant, integrationID: integration, binding: nil)
        let sealed = try ring.seal("pk_live_123", for: owner)
        var tampered = sealed
        tampered.box[tampered.box.count / 2] ^= 0x01
        #expect(throws: VaultError.self) { try ring.open(tampered, for: owner) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .credential(tenantID: tenant, integrationID: UUID(), binding: nil)) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .credential(tenantID: UUID(), integrationID: integration, binding: nil)) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .pkceVerifier(tenantID: tenant, integrationID: integration)) }
        // Bound to where it may be sent: another origin or placement is another owner.
        let bound = CredentialBinding(origin: "https://api.example.com:443", placement: "default")
        let boundBox = try ring.seal("pk_live_123", for: .credential(tenantID: tenant, integrationID: integration, binding: bound))
        #expect(try ring.openString(boundBox, for: .credential(tenantID: tenant, integrationID: integration, binding: bound)) == "pk_live_123")
        for other in [
            CredentialBinding(origin: "https://evil.example:443", placement: "default"),
            CredentialBinding(origin: "https://api.example.com:443", placement: #"{"type":"api_key_query"}"#),
        ] {
            #expect(throws: VaultError.self) {
                try ring.open(boundBox, for: .credential(tenantID: tenant, integrationID: integration, binding: other))
            }
        }
        #expect(throws: VaultError.self) { try ring.open(boundBox, for: owner) }
        var relabelled = sealed
        relabelled.keyID = "k2"
        #expect(throws: VaultError.self) { try ring.open(relabelled, for: owner) }
        relabelled.keyID = "k9"
        #expect(throws: VaultError.self) { try ring.open(relabelled, for: owner) }
    }

    @Test("a secret sealed under an old key still opens after a new key is put first")
    func oldKeysStillOpen() throws {
        let owner = SecretOwner.oauthClientSecret(provider: "klaviyo")
        let old = try KeyRing(parsing: TestApp.key1).seal("client-secret", for: owner)
        let rotated = try KeyRing(parsing: "\(TestApp.key2),\(TestApp.key1)")
        #expect(rotated.primaryID == "k2")
        #expect(try rotated.openString(old, for: owner) == "client-secret")
        #expect(try rotated.seal("x", for: owner).keyID == "k2")
    }

    @Test("malformed key lists are refused with a reason and no key material")
    func malformed() {
        for text in ["", "k1", "k1:notbase64!", "k1:c2hvcnQ=", "bad id:\(Data(count: 32).base64EncodedString())", "\(TestApp.key1),\(TestApp.key1)"] {
            #expect(throws: VaultError.self, "\(text)") { try KeyRing(parsing: text) }
        }
    }

    @Test("fingerprints tell secrets apart and reveal no part of them")
    func fingerprints() {
        let one = ring.fingerprint("pk_live_abcdef123456")
        #expect(one == ring.fingerprint("pk_live_abcdef123456"))
        #expect(one != ring.fingerprint("pk_live_abcdef123457"))
        #expect(!one.contains("pk_"))
        #expect(!one.contains("abcdef"))
        #expect(one.hasPrefix("fp_") && one.count == 19)
    }
}
