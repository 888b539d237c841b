import ArgumentParser
import Tributary

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations, then exit."
    )

    func run() async throws {
        let (config, logger) = try loadEnvironment(requireAdminToken: false, requireKeys: false)
        do {
            try await runMigrations(config: config, logger: logger)
        } catch {
            throw reportStartupFailure(error, logger: logger)
        }
    }
}
