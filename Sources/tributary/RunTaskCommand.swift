import ArgumentParser
import Foundation
import Tributary

struct RunTaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-task",
        abstract: "Run one sync run in this process (the supervisor starts these; by hand it claims a queued run)."
    )

    @Argument(help: "The run's id.")
    var runID: String

    @Option(help: "The lease owner that claimed the run (set by the supervisor).")
    var leaseOwner: String?

    func run() async throws {
        guard let id = UUID(uuidString: runID) else {
            throw ValidationError("'\(runID)' is not a run id")
        }
        let (config, logger) = try loadEnvironment(requireAdminToken: false)
        let status = await runTaskMain(runID: id, owner: leaseOwner, config: config, logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}
