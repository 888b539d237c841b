import Foundation
import Logging
import TributaryConnectors

#if canImport(Glibc)
import Glibc
#endif

/// The work of `tributary check`: the connector's `check()`, with one attempt and a 1 MiB answer cap,
/// for as long as the process that started it is there.
struct CheckTask {
    let factory: ConnectorFactory
    let logger: Logger

    static let maxAttempts = 1
    static let maxResponseBytes = 1 << 20

    /// The API process that started this one is gone: nobody waits for the answer.
    struct ParentGone: Error {}

    func run(_ integration: Integration) async throws {
        let parent = getppid()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let (connector, _) = try await factory.connector(
                    for: integration,
                    logger: logger,
                    maxAttempts: Self.maxAttempts,
                    maxResponseBytes: Self.maxResponseBytes
                )
                try await connector.check()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    if getppid() != parent { throw ParentGone() }
                }
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }

    /// The error a check answers for `error`: a provider's refusal in the words a run would use.
    static func error(for error: any Error, logger: Logger) -> RunError {
        switch error {
        case let error as ConnectorError:
            return RunError(code: error.code, message: error.message)
        case let error as VaultError:
            logger.error("credential does not open", metadata: ["error": "\(error)"])
            return RunError(code: "credential_unreadable", message: "the stored credential cannot be decrypted")
        default:
            let reported = OutcomeReporter.report(for: error)
            return RunError(code: reported.code, message: reported.message)
        }
    }
}
