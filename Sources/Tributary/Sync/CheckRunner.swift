import Foundation
import Logging
import Subprocess

#if canImport(Glibc)
import Glibc
#endif

/// What `tributary check` reports: one `TRIBUTARY_CHECK {json}` line on its standard output.
struct CheckReport: Codable, Sendable, Equatable {
    var ok: Bool
    var error: RunError?

    static let marker = "TRIBUTARY_CHECK "
    static let passed = CheckReport(ok: true, error: nil)

    static func failed(_ error: RunError) -> CheckReport {
        CheckReport(ok: false, error: error.bounded)
    }

    var line: String {
        let json = (try? JSONCoding.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"ok":false}"#
        return Self.marker + json
    }

    /// The last report line in a check's standard output, if it is a well-formed one.
    static func last(in output: String) -> CheckReport? {
        for line in output.split(separator: "\n").reversed() where line.hasPrefix(marker) {
            guard let report = try? JSONCoding.decoder.decode(CheckReport.self, fromOutside: Data(line.dropFirst(marker.count).utf8)) else {
                return nil
            }
            switch (report.ok, report.error) {
            case (true, nil): return passed
            case (false, let error?): return failed(error)
            default: return nil
            }
        }
        return nil
    }
}

/// Runs `POST …/check` in a child process, `tributary check <integration_id>`, as syncs run in
/// run-tasks: the same binary and environment, a wall-clock limit, and nothing it does or prints
/// can take the API down. The child makes one attempt with a 1 MiB answer cap (`CheckTask`).
struct CheckRunner: Sendable {
    let binary: String
    let environment: [String: String]
    let timeout: Duration
    let slots: CheckSlots
    /// Makes the token refreshes the checks ask for.
    let refresher: TokenRefresher

    init(settings: WorkerSettings, environment: [String: String], refresher: TokenRefresher) {
        self.refresher = refresher
        self.binary = settings.runTaskBinary
        self.environment = environment
        self.timeout = settings.checkTimeout
        self.slots = CheckSlots(total: settings.checkConcurrency, perTenant: CheckSlots.perTenant)
    }

    enum Outcome: Sendable, Equatable {
        /// The check ran (or crashed, or hung): the answer to give.
        case finished(CheckReport)
        /// As many checks as allowed are running already.
        case busy
        /// The child process could not start.
        case unavailable
    }

    private enum Stop: Sendable {
        case timedOut, cancelled
    }

    func check(_ integration: Integration, logger: Logger) async -> Outcome {
        guard await slots.acquire(tenant: integration.tenantID) else { return .busy }
        let outcome = await run(integration, logger: logger)
        await slots.release(tenant: integration.tenantID)
        return outcome
    }

    private func run(_ integration: Integration, logger: Logger) async -> Outcome {
        var log = logger
        log[metadataKey: "integration_id"] = "\(integration.id.lowercased)"
        let finished: RunTaskProcess.Finished<Stop>
        do {
            finished = try await RunTaskProcess.run(
                binary: binary,
                arguments: ["check", integration.id.lowercased],
                environment: environment,
                grace: .seconds(1),
                logger: log
            ) { [timeout, refresher] _ in
                await refresher.serving(integrationID: integration.id) {
                    do {
                        try await Task.sleep(for: timeout)
                        return .timedOut
                    } catch {
                        return .cancelled
                    }
                }
            }
        } catch {
            log.error("could not start the check process", metadata: ["binary": "\(binary)", "error": "\(error)"])
            return .unavailable
        }
        if finished.stop == .timedOut {
            log.warning("check stopped at its wall-clock limit", metadata: ["log_tail": "\(Supervisor.oneLine(finished.log))"])
            return .finished(.failed(RunError(code: "check_timeout", message: "the provider did not answer the check within \(timeout)")))
        }
        if finished.ending == .exited(0), let report = CheckReport.last(in: finished.report) {
            return .finished(report)
        }
        let how = Supervisor.describe(finished.ending)
        log.warning(
            "check process crashed without a report",
            metadata: [
                "ending": "\(how)", "log_tail": "\(Supervisor.oneLine(finished.log))", "stdout_tail": "\(Supervisor.oneLine(finished.report))",
            ]
        )
        return .finished(.failed(RunError(code: "check_crashed", message: "the check process \(how)")))
    }
}

/// How many check processes run at once in this API process: in all, and for one tenant, so that
/// no tenant can fill the machine with them or take every slot.
actor CheckSlots {
    static let perTenant = 2

    let total: Int
    let perTenant: Int
    private var running = 0
    private var byTenant: [UUID: Int] = [:]

    init(total: Int, perTenant: Int) {
        self.total = total
        self.perTenant = perTenant
    }

    func acquire(tenant: UUID) -> Bool {
        guard running < total, byTenant[tenant, default: 0] < perTenant else { return false }
        running += 1
        byTenant[tenant, default: 0] += 1
        return true
    }

    func release(tenant: UUID) {
        running -= 1
        let left = byTenant[tenant, default: 1] - 1
        byTenant[tenant] = left > 0 ? left : nil
    }
}
