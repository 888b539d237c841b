import Foundation
import Logging
import TributaryConnectors

/// Tells the supervisor how a run-task's run ended: by the exit code, and for a failure by one
/// `TRIBUTARY_ERROR {json}` line on standard error (`RunTask.errorLine`), which the supervisor reads
/// back from the output it keeps (`Supervisor.reportedError`).
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

    /// Reports the error that ended the run; returns the exit code.
    func failed(_ error: any Error) -> Int32 {
        if error is LeaseKeeper.SupervisorGone { return ExitCode.supervisorGone }
        let reported = Self.report(for: error)
        logger.error("run failed", metadata: ["run_id": "\(runID.lowercased)", "code": "\(reported.code)"])
        FileHandle.standardError.write(Data((reported.line + "\n").utf8))
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

    /// The last report line in a run-task's output.
    static func last(in output: String) -> RunTaskReport? {
        for line in output.split(separator: "\n").reversed() {
            guard let range = line.range(of: RunTask.errorMarker) else { continue }
            return try? JSONCoding.decoder.decode(RunTaskReport.self, from: Data(line[range.upperBound...].utf8))
        }
        return nil
    }
}
