/// A block of addresses in CIDR notation: `10.20.0.0/16`, `::1/128`; a bare address is a block of one.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public let address: IPAddress
    public let prefixLength: Int

    /// Nil for anything but an address with an optional `/prefix` that fits its family.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPAddress(String(first)) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy(\.isASCII), let parsed = Int(digits), (0...bits).contains(parsed)
            else { return nil }
            length = parsed
        }
        guard let masked = IPAddress(bytes: Self.mask(address.bytes, length)) else { return nil }
        self.address = masked
        self.prefixLength = length
    }

    /// Whether `other` lies in this block; an address of the other family never does.
    public func contains(_ other: IPAddress) -> Bool {
        other.bytes.count == address.bytes.count && Self.mask(other.bytes, prefixLength) == address.bytes
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func mask(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(max(length - index * 8, 0), 8)
            return kept == 8 ? byte : byte & ~(UInt8.max >> kept)
        }
    }
}
