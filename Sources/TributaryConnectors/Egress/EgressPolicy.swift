/// Which addresses a request whose URL a tenant or a provider chose may connect to: any public
/// address, and internal ones (loopback, private, link-local, CGNAT, unique-local, multicast,
/// unspecified…) only inside `allowed` — `TRIBUTARY_EGRESS_ALLOW`, empty by default.
public struct EgressPolicy: Sendable {
    public var allowed: [IPNetwork]
    public var resolver: HostResolver

    /// Public addresses only: what a server gets when nobody configured anything.
    public static let publicOnly = EgressPolicy()

    public init(allowed: [IPNetwork] = [], resolver: HostResolver = .system) {
        self.allowed = allowed
        self.resolver = resolver
    }

    /// `127.0.0.1/32,10.20.0.0/16`: blocks separated by commas; empty text allows nothing internal.
    public init(parsing text: String, resolver: HostResolver = .system) throws(EgressPolicyError) {
        var allowed: [IPNetwork] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let network = IPNetwork(entry) else { throw EgressPolicyError(entry: entry) }
            allowed.append(network)
        }
        self.init(allowed: allowed, resolver: resolver)
    }

    /// The allow list as `TRIBUTARY_EGRESS_ALLOW` writes it.
    public var allowText: String {
        allowed.map(\.description).joined(separator: ",")
    }

    /// Whether a connection to `address` is allowed.
    public func permits(_ address: IPAddress) -> Bool {
        let forms = [address] + (address.embeddedIPv4.map { [$0] } ?? [])
        if forms.contains(where: { form in allowed.contains { $0.contains(form) } }) { return true }
        return !address.isInternal
    }

    /// The addresses `host` resolves to, every one of them permitted; otherwise `egress_denied`
    /// naming the host (never an address: a tenant must not learn what our DNS says).
    /// Names under `localhost` (RFC 6761) are refused whatever the allow list says, since an
    /// allow list admits addresses; a local service is reached by its address.
    public func checkedAddresses(of host: String) async throws -> [IPAddress] {
        let name = host.lowercased().trimmingSuffix(".")
        if name == "localhost" || name.hasSuffix(".localhost") { throw Self.denied(host) }
        let addresses: [IPAddress]
        if let literal = IPAddress(host) {
            addresses = [literal]
        } else {
            addresses = try await resolver.resolve(host)
        }
        guard !addresses.isEmpty else { throw HostResolver.Failure(host: host) }
        guard addresses.allSatisfy(permits) else { throw Self.denied(host) }
        return addresses
    }

    static func denied(_ host: String) -> ConnectorError {
        ConnectorError(
            code: "egress_denied",
            message: "\(host.prefix(253)) is not a public address; the egress policy (TRIBUTARY_EGRESS_ALLOW) refuses it",
            retryable: false
        )
    }
}

/// An entry of `TRIBUTARY_EGRESS_ALLOW` that is not a CIDR block.
public struct EgressPolicyError: Error, Sendable, CustomStringConvertible {
    public var entry: String

    public var description: String {
        "TRIBUTARY_EGRESS_ALLOW must be a comma-separated list of CIDR blocks (127.0.0.1/32,10.20.0.0/16): \(entry.prefix(60)) is not one"
    }
}
