import Configuration
import Foundation

/// How the worker runs syncs: its limits, leases and retries.
public struct WorkerSettings: Sendable {
    /// Run-task processes this worker runs at once.
    public var concurrency = 4
    /// Runs of one tenant, and of one provider, running at once across every worker.
    public var perTenant = 2
    public var perProvider = 16
    public var leaseSeconds = 30
    public var pollInterval: Duration = .seconds(1)
    public var schedulerInterval: Duration = .seconds(5)
    public var runTimeout: Duration = .seconds(7200)
    public var memoryLimitMB = 1024
    public var retryBase: Duration = .seconds(30)
    /// The longest wait between two attempts, whatever the doubling reaches.
    public var retryMax: Duration = .seconds(3600)
    public var maxAttempts = 3
    /// Streams of one run a run-task reads at once.
    public var streamsPerRun = 4
    /// The `tributary` executable that runs `run-task` (and `check`); by default this very binary.
    public var runTaskBinary: String
    /// `POST …/check` runs `tributary check` under this wall-clock limit, at most this many at once per API process.
    public var checkTimeout: Duration = .seconds(30)
    public var checkConcurrency = 8

    init(reader: ConfigReader, problems: inout [String]) {
        runTaskBinary =
            reader.string(forKey: "tributary.run.task.binary")
            ?? URL(fileURLWithPath: CommandLine.arguments.first ?? "tributary").resolvingSymlinksInPath().path
        func int(_ key: String, _ variable: String, _ range: ClosedRange<Int>, _ fallback: Int) -> Int {
            reader.wholeNumber(key, variable, range, default: fallback, problems: &problems)
        }
        concurrency = int("tributary.worker.concurrency", "TRIBUTARY_WORKER_CONCURRENCY", 1...256, concurrency)
        perTenant = int("tributary.max.runs.per.tenant", "TRIBUTARY_MAX_RUNS_PER_TENANT", 1...1000, perTenant)
        perProvider = int("tributary.max.runs.per.provider", "TRIBUTARY_MAX_RUNS_PER_PROVIDER", 1...10000, perProvider)
        leaseSeconds = int("tributary.lease.seconds", "TRIBUTARY_LEASE_SECONDS", 2...3600, leaseSeconds)
        pollInterval = .milliseconds(int("tributary.poll.interval.ms", "TRIBUTARY_POLL_INTERVAL_MS", 10...60000, 1000))
        schedulerInterval = .milliseconds(int("tributary.scheduler.interval.ms", "TRIBUTARY_SCHEDULER_INTERVAL_MS", 10...600_000, 5000))
        runTimeout = .seconds(int("tributary.run.timeout.seconds", "TRIBUTARY_RUN_TIMEOUT_SECONDS", 1...604_800, 7200))
        memoryLimitMB = int("tributary.run.memory.mb", "TRIBUTARY_RUN_MEMORY_MB", 64...1_048_576, memoryLimitMB)
        retryBase = .milliseconds(int("tributary.retry.base.ms", "TRIBUTARY_RETRY_BASE_MS", 1...86_400_000, 30000))
        retryMax = .milliseconds(int("tributary.retry.max.ms", "TRIBUTARY_RETRY_MAX_MS", 1...604_800_000, 3_600_000))
        maxAttempts = int("tributary.max.attempts", "TRIBUTARY_MAX_ATTEMPTS", 1...100, maxAttempts)
        streamsPerRun = int("tributary.streams.per.run", "TRIBUTARY_STREAMS_PER_RUN", 1...32, streamsPerRun)
        checkTimeout = .seconds(int("tributary.check.timeout.seconds", "TRIBUTARY_CHECK_TIMEOUT_SECONDS", 1...600, 30))
        checkConcurrency = int("tributary.check.concurrency", "TRIBUTARY_CHECK_CONCURRENCY", 1...256, checkConcurrency)
    }

    /// Exponential backoff with jitter: base × 2^(attempt−1), at most `retryMax`, times a random 0.5–1.
    func backoff(afterAttempt attempt: Int) -> Duration {
        let exponential = retryBase * (1 << min(max(attempt - 1, 0), 16))
        return min(exponential, retryMax) * Double.random(in: 0.5...1.0)
    }
}
