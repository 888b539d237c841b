import ArgumentParser
import Foundation
import Tributary

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check one integration's credential and config with one call to its provider (the API starts these)."
    )

    @Argument(help: "The integration's id.")
    var integrationID: String

    func run() async throws {
        guard let id = UUID(uuidString: integrationID) else {
            throw ValidationError("'\(integrationID)' is not an integration id")
        }
        let (config, logger) = try loadEnvironment(requireAdminToken: false)
        let status = await checkMain(integrationID: id, config: config, logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}
