import ArgumentParser
import Hummingbird
import Tributary

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the admin API (and, with --worker, run the worker in-process)."
    )

    @Flag(help: "Also run the scheduler and sync supervisor in this process.")
    var worker = false

    func run() async throws {
        let (config, logger) = try loadEnvironment()
        let app: any ApplicationProtocol
        do {
            app = try buildApplication(config: config, logger: logger, runWorker: worker)
        } catch {
            throw reportStartupFailure(error, logger: logger)
        }
        try await app.runService()
    }
}
