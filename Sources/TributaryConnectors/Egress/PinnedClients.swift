import AsyncHTTPClient
import NIOCore

/// HTTP clients that connect a host name only to an address the egress policy checked: each
/// maps its host to that address with `dnsOverride` (TLS still names and verifies the host), so
/// a DNS answer that changes between the check and the connection (rebinding) changes nothing.
/// `dnsOverride` belongs to a client's configuration, so there is a client per (host, address),
/// kept while in use and reused — with its pooled connections — by later requests.
actor PinnedClients {
    static let shared = PinnedClients()

    /// How long connecting may take, and how long a connection may stay silent before it is given up.
    static let connectLimit: Int64 = 10
    static let silenceLimit: Int64 = 30

    /// Follows no redirect: a provider (or anything in between) must not steer a credential to
    /// another host. Connecting may take `connectLimit` seconds, and a connection that stays silent
    /// for `silenceLimit` is given up; the whole request's deadline is the caller's.
    static func configuration(pinning pin: Pin? = nil) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(connectLimit), read: .seconds(silenceLimit))
        )
        if let pin { configuration.dnsOverride = [pin.host: pin.address] }
        return configuration
    }

    /// For hosts that are an address already: nothing to resolve, so nothing to pin. Lives as long
    /// as the process.
    static let unpinned = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration())

    struct Pin: Hashable, Sendable {
        var host: String
        var address: String
    }

    private struct Entry {
        var client: HTTPClient
        var leases = 0
        var lastUsed = ContinuousClock.now
    }

    private var entries: [Pin: Entry] = [:]
    /// Idle clients beyond this many are shut down, least recently used first.
    private let keep = 16

    /// A client for `pin`; give it back with `release` once the response is read.
    func lease(_ pin: Pin) -> HTTPClient {
        var entry = entries[pin] ?? Entry(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(pinning: pin)))
        entry.leases += 1
        entry.lastUsed = .now
        entries[pin] = entry
        return entry.client
    }

    func release(_ pin: Pin) async {
        guard var entry = entries[pin] else { return }
        entry.leases -= 1
        entry.lastUsed = .now
        entries[pin] = entry
        await trim()
    }

    private func trim() async {
        while entries.count > keep {
            let idle = entries.filter { $0.value.leases == 0 }
            guard let oldest = idle.min(by: { $0.value.lastUsed < $1.value.lastUsed }) else { return }
            entries[oldest.key] = nil
            // A client must be shut down before it goes; its pooled connections close with it.
            try? await oldest.value.client.shutdown()
        }
    }
}
