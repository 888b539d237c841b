import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Sends requests to URLs a tenant or a provider chose (connector base URLs, next-page links,
/// webhooks): only http and https, the host resolved and every address it has checked against the
/// policy, the connection pinned to a checked address, and the whole exchange — connecting,
/// the head and every byte of the body — within one deadline, so a provider that trickles its
/// answer cannot hold a run. Admin-configured URLs (OAuth token endpoints, SMTP) are trusted and
/// do not come here.
public struct EgressClient: Sendable {
    public var policy: EgressPolicy

    public init(policy: EgressPolicy) {
        self.policy = policy
    }

    /// The ports a URL may name.
    public static let ports = 1...65535

    /// The exchange took longer than its timeout.
    public struct Timeout: Error, Sendable {}

    /// Executes `request` and hands its response to `read`, which reads the body it wants (the
    /// connection goes back to its pool afterwards), all within `timeout`. `attempt` picks which
    /// of the host's checked addresses to connect to, so a retry tries the next one.
    public func execute<T: Sendable>(
        _ request: HTTPClientRequest,
        attempt: Int = 1,
        timeout: Duration,
        _ read: @escaping @Sendable (HTTPClientResponse) async throws -> T
    ) async throws -> T {
        try await exchange(url: request.url, attempt: attempt, timeout: timeout) { client, deadline in
            try await read(try await client.execute(request, deadline: deadline))
        }
    }

    /// The whole answer to a GET of `url`, its body read up to `maxBytes` (else `TooLarge`), within
    /// `timeout`, on the same terms as `execute`. The body is gathered where the connection reads
    /// it and handed over once, not part by part: a page of a provider's API is wanted whole anyway.
    public func get(
        _ url: String,
        headers: HTTPHeaders,
        attempt: Int = 1,
        timeout: Duration,
        maxBytes: Int
    ) async throws -> (status: UInt, headers: HTTPHeaders, body: ByteBuffer) {
        try await exchange(url: url, attempt: attempt, timeout: timeout) { client, deadline in
            let request = try HTTPClient.Request(url: url, method: .GET, headers: headers)
            let task = client.execute(request: request, delegate: ResponseAccumulator(request: request, maxBodySize: maxBytes), deadline: deadline)
            do {
                let response = try await withTaskCancellationHandler {
                    try await task.futureResult.get()
                } onCancel: {
                    task.cancel()
                }
                return (response.status.code, response.headers, response.body ?? ByteBuffer())
            } catch is ResponseAccumulator.ResponseTooBigError {
                throw TooLarge()
            }
        }
    }

    /// The answer's body was longer than the caller would read.
    public struct TooLarge: Error, Sendable {}

    /// Runs `body` with a client for `url`'s host (its addresses checked, the connection pinned to
    /// one of them) and the deadline, all within `timeout`.
    private func exchange<T: Sendable>(
        url: String,
        attempt: Int,
        timeout: Duration,
        _ body: @escaping @Sendable (HTTPClient, NIODeadline) async throws -> T
    ) async throws -> T {
        let target = try Self.target(of: url)
        let policy = policy
        return try await Self.within(timeout) {
            let addresses = try await policy.checkedAddresses(of: target.host)
            let deadline = NIODeadline.now() + TimeAmount(timeout)
            if target.isAddress {
                return try await body(PinnedClients.unpinned, deadline)
            }
            let chosen = addresses[(max(attempt, 1) - 1) % addresses.count]
            let pin = PinnedClients.Pin(host: target.host, address: chosen.description)
            let client = await PinnedClients.shared.lease(pin)
            do {
                let result = try await body(client, deadline)
                await PinnedClients.shared.release(pin)
                return result
            } catch {
                await PinnedClients.shared.release(pin)
                throw error
            }
        }
    }

    /// The host AsyncHTTPClient will connect to, read from the URL exactly as it reads it
    /// (Foundation's `URL`, IPv6 brackets trimmed), so the name checked is the name connected to.
    static func target(of url: String) throws -> (host: String, isAddress: Bool) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw ConnectorError(code: "egress_denied", message: "only http and https URLs may be requested", retryable: false)
        }
        guard var host = parsed.host, !host.isEmpty else {
            throw ConnectorError(code: "invalid_url", message: "the URL names no host", retryable: false)
        }
        // Foundation's URL takes any run of digits as the port, and AsyncHTTPClient hands it to
        // NIO's `SocketAddress`, which traps past 65535: a tenant's URL must not crash the process.
        if let port = parsed.port, !ports.contains(port) {
            throw ConnectorError(code: "invalid_url", message: "the URL's port must be from 1 to 65535", retryable: false)
        }
        if host.hasPrefix("[") { host.removeFirst() }
        if host.hasSuffix("]") { host.removeLast() }
        guard !host.isEmpty else { throw ConnectorError(code: "invalid_url", message: "the URL names no host", retryable: false) }
        return (host, IPAddress(host) != nil)
    }

    /// `operation`'s result, or `Timeout` once `timeout` has passed (the operation is cancelled).
    static func within<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard case .some(.some(let value)) = try await group.next() else { throw Timeout() }
            return value
        }
    }
}

extension TimeAmount {
    /// A `Duration` in NIO's nanoseconds, saturating rather than trapping on huge values.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = overflow ? .nanoseconds(.max) : .nanoseconds(whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
    }
}
