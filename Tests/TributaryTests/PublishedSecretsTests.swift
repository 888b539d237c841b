import Foundation
import Testing

@testable import Tributary

/// A server started with a secret anyone can read is open to anyone: it refuses to start.
@Suite("Published and weak secrets are refused at start")
struct PublishedSecretsTests {
    static func environment(token: String = TestApp.adminToken, keys: String = TestApp.key1) throws -> [String: String] {
        let database = try #require(ProcessInfo.processInfo.environment["TRIBUTARY_TEST_DATABASE_URL"])
        return ["DATABASE_URL": database, "TRIBUTARY_ADMIN_TOKEN": token, "TRIBUTARY_ENCRYPTION_KEYS": keys, "PORT": "1"]
    }

    @Test("the admin token and key that docker-compose.yml once defaulted to stop the server with exit 2, naming the variable")
    func refusesPublishedPlaceholders() async throws {
        for token in PublishedSecrets.adminTokens {
            let run = try await ChildProcess.run(["serve"], environment: try Self.environment(token: token))
            #expect(run.status == 2)
            #expect(run.output.contains("TRIBUTARY_ADMIN_TOKEN is a published placeholder"))
            #expect(!run.output.contains(token))
        }
        for key in PublishedSecrets.encryptionKeys {
            for keys in ["dev1:\(key)", "\(TestApp.key1),old:\(key)"] {
                let run = try await ChildProcess.run(["worker"], environment: try Self.environment(keys: keys))
                #expect(run.status == 2)
                #expect(run.output.contains("TRIBUTARY_ENCRYPTION_KEYS holds a published placeholder key"))
                #expect(!run.output.contains(key))
            }
        }
    }

    @Test("an encryption key that was typed rather than drawn (few distinct bytes) is refused")
    func refusesWeakKeys() async throws {
        for bytes in [Data(repeating: 0, count: 32), Data(repeating: 7, count: 32), Data("REPLACE-ME-REPLACE-ME-REPLACE-ME".utf8)] {
            let run = try await ChildProcess.run(["serve"], environment: try Self.environment(keys: "weak:" + bytes.base64EncodedString()))
            #expect(run.status == 2)
            #expect(run.output.contains("TRIBUTARY_ENCRYPTION_KEYS: key 'weak' is not random"))
        }
    }

    @Test("docker-compose.yml names no default for either secret")
    func composeHasNoDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let compose = try String(contentsOf: root.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        for variable in ["TRIBUTARY_ADMIN_TOKEN", "TRIBUTARY_ENCRYPTION_KEYS"] {
            let line = try #require(compose.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(variable):") })
            #expect(line.contains("${\(variable):?"))
        }
        for published in PublishedSecrets.adminTokens.union(PublishedSecrets.encryptionKeys) {
            #expect(!compose.contains(published))
        }
    }
}
