import ArgumentParser

/// `tributary`: the server, the worker and the maintenance commands.
@main
struct TributaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Self-hosted, multi-tenant integration platform.",
        subcommands: [ServeCommand.self, WorkerCommand.self, MigrateCommand.self, KeysCommand.self, RunTaskCommand.self, CheckCommand.self]
    )
}
