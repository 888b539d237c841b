// The timing half of `bench/claim-run` and `bench/queue`, through the Store's own statements (the
// ones every worker runs). The scripts seed the database and build this with TRIBUTARY_BENCH=1.
//
//   MODE=claims DATABASE_URL=… CLAIMS=1000 PER_TENANT=2 PER_PROVIDER=100000 claim-run
//       claims one after another; prints the time of each claim as percentiles
//   MODE=drain …  claims until nothing is claimable or CLAIMS are claimed, each run left running
//       (so a tenant's limit holds across every process draining at once), or with FINISH=1 completed
//       at once, as workers do; BATCH=4 claims 4 at a time (a worker with 4 free slots); prints the count and time
//   MODE=tick …   one scheduler tick (`Store.enqueueDue`); prints what it queued and its time
import Configuration
import Foundation
import Logging

@testable import Tributary

let environment = ProcessInfo.processInfo.environment
func setting(_ name: String, _ fallback: Int) -> Int {
    environment[name].flatMap { Int($0) } ?? fallback
}
let claims = setting("CLAIMS", 1000)
let limits = ClaimLimits(perTenant: setting("PER_TENANT", 2), perProvider: setting("PER_PROVIDER", 100_000))

var logger = Logger(label: "claim-run")
logger.logLevel = .warning
let config = try AppConfig(
    reader: ConfigReader(provider: EnvironmentVariablesProvider()),
    requireAdminToken: false,
    requireKeys: false
)

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

let mode = environment["MODE"] ?? "claims"
if mode == "drain" || mode == "tick" {
    try await withPostgres(config: config, logger: logger) { postgres in
        let store = Store(client: postgres, logger: logger)
        _ = try await store.run(id: UUID())  // opens the connection
        let start = ContinuousClock.now
        let count =
            if mode == "tick" {
                try await store.enqueueDue(maxAttempts: 3)
            } else {
                try await drain(store)
            }
        let elapsed = milliseconds(ContinuousClock.now - start)
        print(String(format: "%@ %d in %.1f ms", mode, count, elapsed))
    }
    exit(0)
}

/// Claims until nothing is claimable or `claims` are claimed. With FINISH=1 each claimed run is
/// completed at once, as a worker does when its run-task ends, so few runs are running at a time.
/// BATCH (default 1) runs are claimed at a time, as a worker with that many free slots does.
func drain(_ store: Store) async throws -> Int {
    let owners = Array(repeating: "bench-\(getpid())", count: max(1, setting("BATCH", 1)))
    let finish = environment["FINISH"] == "1"
    var claimed = 0
    while claimed < claims {
        let runs = try await store.claimRuns(owners: owners, leaseSeconds: 3600, limits: limits)
        claimed += runs.count
        if finish {
            for (run, owner) in zip(runs, owners) { _ = try await store.completeRun(runID: run.id, owner: owner) }
        }
        if runs.count < owners.count { break }
    }
    return claimed
}

let (times, floor, claimed) = try await withPostgres(config: config, logger: logger) { postgres in
    let store = Store(client: postgres, logger: logger)
    // The first statement opens the connection: not part of a claim's cost. The next ones give the
    // floor: one primary-key SELECT over the same pool.
    var floor: [Double] = []
    for _ in 0...100 {
        let start = ContinuousClock.now
        _ = try await store.run(id: UUID())
        floor.append(milliseconds(ContinuousClock.now - start))
    }
    var times: [Double] = []
    var claimed = 0
    for _ in 0..<claims {
        let start = ContinuousClock.now
        let run = try await store.claimRun(owner: "bench", leaseSeconds: 3600, limits: limits)
        times.append(milliseconds(ContinuousClock.now - start))
        if run != nil { claimed += 1 }
    }
    return (times, Array(floor.dropFirst()), claimed)
}

func summary(_ times: [Double]) -> String {
    let sorted = times.sorted()
    func percentile(_ p: Double) -> Double {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))]
    }
    let mean = times.isEmpty ? 0 : times.reduce(0, +) / Double(times.count)
    return String(format: "p50 %.2f ms   p99 %.2f ms   mean %.2f ms   max %.2f ms", percentile(50), percentile(99), mean, sorted.last ?? 0)
}
print("claims: \(times.count) (\(claimed) claimed a run)   \(summary(times))")
print("for scale, a primary-key SELECT:   \(summary(floor))")
