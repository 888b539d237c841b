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
        let sealed = try ring.seal("pk_live_123", for: .credential(tenantID: tenant, integrationID: integration))
        #expect(sealed.keyID == "k1")
        #expect(!String(decoding: sealed.box, as: UTF8.self).contains("pk_live_123"))
        #expect(try ring.openString(sealed, for: .credential(tenantID: tenant, integrationID: integration)) == "pk_live_123")
        let again = try ring.seal("pk_live_123", for: .credential(tenantID: tenant, integrationID: integration))
        #expect(again.box != sealed.box, "a fresh nonce each time")
    }

    @Test("a tampered box, or one moved to another owner or purpose, does not open")
    func tamperAndMisplace() throws {
        let owner = SecretOwner.credential(tenantID: tenant, integrationID: integration)
        let sealed = try ring.seal("pk_live_123", for: owner)
        var tampered = sealed
        tampered.box[tampered.box.count / 2] ^= 0x01
        #expect(throws: VaultError.self) { try ring.open(tampered, for: owner) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .credential(tenantID: tenant, integrationID: UUID())) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .credential(tenantID: UUID(), integrationID: integration)) }
        #expect(throws: VaultError.self) { try ring.open(sealed, for: .pkceVerifier(tenantID: tenant, integrationID: integration)) }
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
