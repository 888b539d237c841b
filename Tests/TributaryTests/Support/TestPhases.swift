import Foundation
import Logging
import Synchronization
import Testing

/// Where each `TestApp.run` is (creating its database, starting its services, running the test,
/// stopping its services), so that one that never ends says where it stopped.
///
/// Full runs have been seen to end with a test or two that never finish, while every thread is idle
/// and no connection is open: a wait on something in memory that never comes. `TimerProbe`'s watcher
/// asks `reportStuck` every two seconds; a phase held past its limit is written to standard error
/// once, with the last words of that app's service group, which says which service it still waits for.
enum TestPhases {
    /// One `TestApp.run`.
    final class Entry: Sendable {
        fileprivate struct State {
            var phase: String
            var since: ContinuousClock.Instant
            var reported = false
            var lifecycle: [String] = []
            var postgres: [String] = []
        }

        let test: String
        fileprivate let state: Mutex<State>

        fileprivate init(test: String, phase: String) {
            self.test = test
            self.state = Mutex(State(phase: phase, since: .now))
        }

        func move(to phase: String) {
            state.withLock { state in
                state.phase = phase
                state.since = .now
                state.reported = false
            }
        }

        func leave() {
            TestPhases.entries.withLock { $0[ObjectIdentifier(self)] = nil }
        }

        /// `base`, which also keeps the last debug lines of the service group (and Hummingbird) and of
        /// the Postgres client.
        func logger(_ base: Logger) -> Logger {
            var logger = Logger(label: base.label) { _ in Recorder(base: base, entry: self) }
            logger.logLevel = .debug
            return logger
        }

        fileprivate func keep(_ line: String, postgres: Bool) {
            state.withLock { state in
                if postgres {
                    state.postgres.append(line)
                    if state.postgres.count > 6 { state.postgres.removeFirst() }
                } else {
                    state.lifecycle.append(line)
                    if state.lifecycle.count > 6 { state.lifecycle.removeFirst() }
                }
            }
        }
    }

    private static let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    /// How long a phase may last before it is reported: the test itself may run minutes.
    private static func limit(of phase: String) -> Duration {
        phase == running ? .seconds(420) : .seconds(150)
    }

    static let running = "running the test"

    static func enter(_ phase: String) -> Entry {
        let entry = Entry(test: Test.current?.displayName ?? Test.current?.name ?? "a test", phase: phase)
        entries.withLock { $0[ObjectIdentifier(entry)] = entry }
        return entry
    }

    /// The lines to write about phases held past their limit, each once.
    static func reportStuck() -> [String] {
        let now = ContinuousClock.now
        return entries.withLock { Array($0.values) }.compactMap { entry in
            entry.state.withLock { state -> String? in
                let held = now - state.since
                guard !state.reported, held > limit(of: state.phase) else { return nil }
                state.reported = true
                let services = state.lifecycle.isEmpty ? "" : "; its services said last: " + state.lifecycle.joined(separator: " | ")
                let postgres = state.postgres.isEmpty ? "" : "; its Postgres client: " + state.postgres.joined(separator: " | ")
                return "test phase: \"\(entry.test)\" has been \(state.phase) for \(held.components.seconds) s\(services)\(postgres)"
            }
        }
    }

    /// Passes on what `base` would log; keeps the service group's and Hummingbird's debug lines too.
    private struct Recorder: LogHandler {
        let base: Logger
        let entry: Entry
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let source = event.source
            if source == "ServiceLifecycle" || source.hasPrefix("Hummingbird") {
                // A service's name is its whole description: its type says enough.
                let service = (event.metadata?["sl-service"] ?? metadata["sl-service"]).map { " (\("\($0)".prefix { $0 != "(" }))" } ?? ""
                entry.keep("\(event.message)\(service)", postgres: false)
            } else if source == "PostgresNIO" || source == "ConnectionPoolModule" {
                let error = event.metadata?["error"].map { " \("\($0)".prefix(80))" } ?? ""
                entry.keep("\(event.message)\(error)", postgres: true)
            }
            guard event.level >= base.logLevel else { return }
            var event = event
            if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { _, new in new } }
            base.handler.log(event: event)
        }
    }
}
