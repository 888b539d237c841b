import Foundation
import Logging
import TributaryConnectors

/// Tells the supervisor how a run-task's run ended: by the exit code, and for a failure by one
/// `TRIBUTARY_ERROR {json}` line on standard output (`RunTask.errorLine`), which the supervisor reads
/// back (`RunTaskReport.last`). Logs go to standard error, so no log line can pass for a report; the
/// reported message has the integration's secrets taken out and is bounded (`RunError.bounded`).
struct OutcomeReporter: Sendable {
    let runID: UUID
    let logger: Logger

    /// The exit codes of `tributary run-task`.
    enum ExitCode {
        static let succeeded: Int32 = 0
        /// The error line says why.
        static let failed: Int32 = 1
        static let noKeyRing: Int32 = 2
        /// Nobody is left to read an error line.
        static let supervisorGone: Int32 = 3
    }

    func succeeded() -> Int32 {
        logger.info("run succeeded", metadata: ["run_id": "\(runID.lowercased)"])
        return ExitCode.succeeded
    }

    /// Reports the error that ended the run, without the secrets `redactor` knows; returns the exit code.
    func failed(_ error: any Error, redactor: SecretRedactor) -> Int32 {
        if error is LeaseKeeper.SupervisorGone { return ExitCode.supervisorGone }
        let reported = Self.report(for: error).redacted(by: redactor)
        logger.error("run failed", metadata: ["run_id": "\(runID.lowercased)", "code": "\(reported.code)"])
        FileHandle.standardOutput.write(Data((reported.line + "\n").utf8))
        return ExitCode.failed
    }

    /// What the supervisor records for `error`, and whether the run is tried again.
    static func report(for error: any Error) -> RunTaskReport {
        switch error {
        case let error as ConnectorError:
            RunTaskReport(code: error.code, message: error.message, retryable: error.retryable)
        case let error as LeaseKeeper.NotClaimed:
            RunTaskReport(code: "not_claimed", message: "run \(error.runID.lowercased) is not claimed by \(error.owner)", retryable: false)
        case is RecordsWriter.LeaseLost:
            RunTaskReport(code: "lease_lost", message: "another worker took over the run", retryable: false)
        case let error as StoreError:
            RunTaskReport(code: "database_error", message: "\(error)", retryable: true)
        case let error as VaultError:
            RunTaskReport(code: "credential_unreadable", message: error.description, retryable: false)
        default:
            RunTaskReport(code: "internal_error", message: "\(type(of: error))", retryable: true)
        }
    }
}

/// A failed run as the run-task reports it, in one `TRIBUTARY_ERROR {json}` line, and the supervisor
/// reads it back.
struct RunTaskReport: Sendable, Decodable, Equatable {
    var code: String
    var message: String
    var retryable: Bool

    var line: String {
        RunTask.errorLine(code: code, message: message, retryable: retryable)
    }

    /// The report with `redactor`'s secrets taken out of its message, then bounded.
    func redacted(by redactor: SecretRedactor) -> RunTaskReport {
        let error = redactor.redact(RunError(code: code, message: message)).bounded
        return RunTaskReport(code: error.code, message: error.message, retryable: retryable)
    }

    /// The last report line in a run-task's standard output (a line that starts with the marker).
    static func last(in output: String) -> RunTaskReport? {
        for line in output.split(separator: "\n").reversed() where line.hasPrefix(RunTask.errorMarker) {
            return try? JSONCoding.decoder.decode(RunTaskReport.self, fromOutside: Data(line.dropFirst(RunTask.errorMarker.count).utf8))
        }
        return nil
    }
}
