// The timing half of `bench/claim-run`: claims runs one after another through the real
// `Store.claimRun` (the statement and transaction every worker uses) and prints the time of each
// claim as percentiles. The script seeds the queue and builds this with TRIBUTARY_BENCH=1.
//
//   DATABASE_URL=… CLAIMS=1000 PER_TENANT=2 PER_PROVIDER=100000 claim-run
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
