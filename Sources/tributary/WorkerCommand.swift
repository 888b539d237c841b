import ArgumentParser
import Tributary

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the scheduler and sync supervisor without the API."
    )

    func run() async throws {
        let (config, logger) = try loadEnvironment(requireAdminToken: false)
        do {
            try await runWorker(config: config, logger: logger)
        } catch {
            throw reportStartupFailure(error, logger: logger)
        }
    }
}
