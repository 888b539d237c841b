import Foundation

/// An IPv4 or IPv6 address, as the egress policy judges it: the bytes in network order.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6).
    public let bytes: [UInt8]

    /// Only 4 or 16 bytes make an address.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// `192.0.2.1` or `2001:db8::1` (without brackets or zone); nil for anything else.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// The IPv4 address an IPv6 one carries and reaches: IPv4-mapped (`::ffff:a.b.c.d`),
    /// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
    public var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        let prefix = Array(bytes[0..<12])
        let tail = Array(bytes[12..<16])
        if prefix == Array(repeating: 0, count: 10) + [0xFF, 0xFF] { return IPAddress(bytes: tail) }
        if prefix == Array(repeating: 0, count: 12), tail[0] != 0 || tail[1] != 0 { return IPAddress(bytes: tail) }
        if prefix == [0x00, 0x64, 0xFF, 0x9B] + Array(repeating: 0, count: 8) { return IPAddress(bytes: tail) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }

    /// Whether the address is not one of the public internet: loopback, private (RFC 1918), CGNAT,
    /// link-local, unique-local, multicast, unspecified, documentation, benchmarking or reserved —
    /// for an IPv6 address that carries an IPv4 one, whatever that one is.
    public var isInternal: Bool {
        if let inner = embeddedIPv4 { return inner.isInternal }
        let ranges = isIPv4 ? Self.internalIPv4 : Self.internalIPv6
        return ranges.contains { $0.contains(self) }
    }

    static let internalIPv4: [IPNetwork] = [
        "0.0.0.0/8",  // "this network", including the unspecified 0.0.0.0
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  // RFC 1918
        "100.64.0.0/10",  // CGNAT (RFC 6598)
        "127.0.0.0/8",  // loopback
        "169.254.0.0/16",  // link-local, where cloud metadata services answer
        "192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  // IETF assignments, documentation
        "192.88.99.0/24",  // 6to4 relays
        "198.18.0.0/15",  // benchmarking
        "224.0.0.0/4",  // multicast
        "240.0.0.0/4",  // reserved, and the broadcast 255.255.255.255
    ].compactMap(IPNetwork.init)

    static let internalIPv6: [IPNetwork] = [
        "::/128", "::1/128",  // unspecified, loopback
        "::/96",  // IPv4-compatible forms not caught above (::a.b.c.d whose first bytes are zero)
        "64:ff9b:1::/48",  // local-use NAT64
        "100::/64",  // discard
        "2001::/23",  // IETF protocol assignments, Teredo among them
        "2001:db8::/32", "3fff::/20",  // documentation
        "5f00::/16",  // segment routing
        "fc00::/7",  // unique local
        "fe80::/10", "fec0::/10",  // link-local, and the old site-local
        "ff00::/8",  // multicast
    ].compactMap(IPNetwork.init)

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) }
        guard written != nil else { return bytes.map { String($0) }.joined(separator: ".") }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
