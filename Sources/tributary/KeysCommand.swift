import ArgumentParser
import Tributary

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the encryption keys of stored secrets.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every secret under the first key of TRIBUTARY_ENCRYPTION_KEYS (idempotent, safe to rerun)."
        )

        func run() async throws {
            let (config, logger) = try loadEnvironment(requireAdminToken: false)
            let summary: (rewritten: Int, unreadable: Int)
            do {
                summary = try await rotateKeys(config: config, logger: logger)
            } catch {
                throw reportStartupFailure(error, logger: logger)
            }
            print("rewrote \(summary.rewritten) secret(s) under key '\(config.keyRing?.primaryID ?? "")'")
            if summary.unreadable > 0 {
                print("\(summary.unreadable) secret(s) did not decrypt and were left as they are (see the log)")
                throw ExitCode(1)
            }
        }
    }
}
