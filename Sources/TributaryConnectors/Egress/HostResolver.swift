import Foundation
import NIOPosix

/// Turns a host name into its addresses. The system one asks `getaddrinfo` on NIO's blocking
/// thread pool (never on a concurrency thread); tests give one that answers what they need.
public struct HostResolver: Sendable {
    let lookUp: @Sendable (String) async throws -> [IPAddress]

    public init(_ lookUp: @escaping @Sendable (String) async throws -> [IPAddress]) {
        self.lookUp = lookUp
    }

    /// Every address of `host`, each once, in the order the resolver gave them.
    public func resolve(_ host: String) async throws -> [IPAddress] {
        var seen = Set<IPAddress>()
        return try await lookUp(host).filter { seen.insert($0).inserted }
    }

    public static let system = HostResolver { host in
        try await NIOThreadPool.singleton.runIfActive { try getaddrinfoAddresses(host) }
    }

    /// The host has no address, or the lookup failed: a connection error, retried like one.
    public struct Failure: Error, Sendable {
        public var host: String
    }

    static func getaddrinfoAddresses(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc) || canImport(Musl)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { throw Failure(host: host) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let entry = current {
            if let socketAddress = entry.pointee.ai_addr {
                switch entry.pointee.ai_family {
                case AF_INET:
                    let v4 = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in.self)
                    if let address = withUnsafeBytes(of: v4.sin_addr, { IPAddress(bytes: Array($0)) }) { addresses.append(address) }
                case AF_INET6:
                    let v6 = UnsafeRawPointer(socketAddress).loadUnaligned(as: sockaddr_in6.self)
                    if let address = withUnsafeBytes(of: v6.sin6_addr, { IPAddress(bytes: Array($0)) }) { addresses.append(address) }
                default:
                    break
                }
            }
            current = entry.pointee.ai_next
        }
        return addresses
    }
}
