import ArgumentParser
import Configuration
import Foundation
import Logging
import Tributary

/// Reads the configuration from the environment and sets up logging; a bad configuration
/// ends the process with exit code 2 and a list of what is wrong, never a crash trace.
func loadEnvironment(requireAdminToken: Bool = true, requireKeys: Bool = true) throws -> (AppConfig, Logger) {
    let reader = ConfigReader(provider: EnvironmentVariablesProvider())
    let config: AppConfig
    do {
        config = try AppConfig(reader: reader, requireAdminToken: requireAdminToken, requireKeys: requireKeys)
    } catch {
        FileHandle.standardError.write(Data("tributary: \(error.description)\n".utf8))
        throw ExitCode(2)
    }
    let level = config.logLevel
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return (config, Logger(label: "tributary"))
}

/// Startup failures the operator can fix (no migrations folder, say) end with exit code 1 and a sentence.
func reportStartupFailure(_ error: any Error, logger: Logger) -> ExitCode {
    logger.critical("cannot start", metadata: ["error": "\(error)"])
    return ExitCode(1)
}
