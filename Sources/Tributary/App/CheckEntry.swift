import Foundation
import Logging

/// `tributary check <integration_id>`: one call to the integration's provider, in this process, as
/// the API's `POST …/check` starts it (`CheckRunner`). Prints one `TRIBUTARY_CHECK {json}` line on
/// standard output — passed, or why not, without the integration's secrets — and exits 0; any other
/// ending is a crash to the API. Exits 3 without a report when the process that started it is gone.
public func checkMain(integrationID: UUID, config: AppConfig, logger: Logger) async -> Int32 {
    limitMemory(megabytes: config.worker.memoryLimitMB, logger: logger)
    guard let keyRing = config.keyRing else { return OutcomeReporter.ExitCode.noKeyRing }
    let report: CheckReport
    do {
        report = try await withPostgres(config: config, logger: logger) { postgres in
            let services = Services(postgres: postgres, keyRing: keyRing, config: config, logger: logger, refreshes: .byParent)
            guard let integration = try await services.store.integrationByID(integrationID) else {
                return .failed(RunError(code: "integration_gone", message: "the integration no longer exists"))
            }
            do {
                try await CheckTask(factory: services.factory, logger: logger).run(integration)
                return .passed
            } catch let error where !(error is CheckTask.ParentGone) {
                let redactor = await services.redactor(for: integration, logger: logger)
                return .failed(redactor.redact(CheckTask.error(for: error, logger: logger)))
            }
        }
    } catch is CheckTask.ParentGone {
        return OutcomeReporter.ExitCode.supervisorGone
    } catch {
        report = .failed(CheckTask.error(for: error, logger: logger))
    }
    FileHandle.standardOutput.write(Data((report.line + "\n").utf8))
    return 0
}
