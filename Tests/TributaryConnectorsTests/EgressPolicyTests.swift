import Fakes
import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Egress policy: which addresses a tenant-chosen URL may reach")
struct EgressPolicyTests {
    @Test("internal addresses, in every form, are told from public ones")
    func classification() throws {
        let inside = [
            "127.0.0.1", "127.0.0.2", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255",
            "192.168.1.1", "100.64.0.1", "100.127.255.255", "169.254.169.254", "224.0.0.1", "239.255.255.250", "255.255.255.255",
            "240.0.0.1", "192.0.2.10", "198.18.0.1", "::", "::1", "fe80::1", "febf::1", "fc00::1", "fd12:3456::1", "ff02::1",
            "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.2.3", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
            "2001:db8::1", "2001::1",
        ]
        for text in inside {
            let address = try #require(IPAddress(text), "\(text)")
            #expect(address.isInternal, "\(text) is internal")
            #expect(!EgressPolicy.publicOnly.permits(address), "\(text) is refused")
        }
        let external = [
            "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "11.0.0.1", "2606:4700:4700::1111", "2a00:1450::1",
            "::ffff:8.8.8.8", "64:ff9b::808:808",
        ]
        for text in external {
            let address = try #require(IPAddress(text), "\(text)")
            #expect(!address.isInternal, "\(text) is public")
            #expect(EgressPolicy.publicOnly.permits(address), "\(text) is allowed")
        }
        for text in ["", "127.1", "0x7f.0.0.1", "2130706433", "localhost", "1.2.3.4.5", "[::1]", "fe80::1%eth0"] {
            #expect(IPAddress(text) == nil, "\(text) is not an address")
        }
    }

    @Test("TRIBUTARY_EGRESS_ALLOW: blocks of either family, bare addresses, and mistakes named")
    func allowList() throws {
        let policy = try EgressPolicy(parsing: " 127.0.0.1/32, 10.20.0.0/16 ,fd00::/8,192.168.7.7 ")
        #expect(policy.allowText == "127.0.0.1/32,10.20.0.0/16,fd00::/8,192.168.7.7/32")
        for text in ["127.0.0.1", "10.20.255.1", "fd00::5", "192.168.7.7", "::ffff:127.0.0.1", "8.8.8.8"] {
            #expect(policy.permits(try #require(IPAddress(text))), "\(text)")
        }
        for text in ["127.0.0.2", "10.21.0.1", "fe80::1", "192.168.7.8", "::1", "169.254.169.254"] {
            #expect(!policy.permits(try #require(IPAddress(text))), "\(text)")
        }
        #expect(try EgressPolicy(parsing: "").allowed.isEmpty)
        #expect(IPNetwork("10.20.1.1/16")?.description == "10.20.0.0/16")
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "ten", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/٣"] {
            let error = try #require(throws: EgressPolicyError.self, "\(bad)") { try EgressPolicy(parsing: "127.0.0.1/32,\(bad)") }
            #expect(error.description.contains("TRIBUTARY_EGRESS_ALLOW"))
        }
    }

    @Test("a host is refused when any of its addresses is; the refusal names the host, never an address")
    func hostsAreCheckedWhole() async throws {
        let resolver = HostResolver { host in
            switch host {
            case "mixed.test": [IPAddress("93.184.216.34"), IPAddress("10.0.0.7")].compactMap { $0 }
            case "public.test": [IPAddress("93.184.216.34")].compactMap { $0 }
            case "rebound.test": [IPAddress("127.0.0.2")].compactMap { $0 }
            default: []
            }
        }
        let policy = EgressPolicy(allowed: [try #require(IPNetwork("127.0.0.1/32"))], resolver: resolver)
        #expect(try await policy.checkedAddresses(of: "public.test").map(\.description) == ["93.184.216.34"])
        for host in ["mixed.test", "rebound.test", "127.0.0.2", "0.0.0.0", "::1", "169.254.169.254", "localhost", "LOCALHOST.", "a.localhost"] {
            let error = try await #require(throws: ConnectorError.self, "\(host)") { try await policy.checkedAddresses(of: host) }
            #expect(error.code == "egress_denied")
            #expect(!error.retryable)
            #expect(error.message.contains(host))
            #expect(!error.message.contains("10.0.0.7") && (host == "127.0.0.2" || !error.message.contains("127.0.0.2")))
        }
        await #expect(throws: HostResolver.Failure.self) { try await policy.checkedAddresses(of: "nowhere.test") }
        #expect(try await policy.checkedAddresses(of: "127.0.0.1").map(\.description) == ["127.0.0.1"])
    }

    @Test("the system resolver: names in /etc/hosts resolve, and are judged by their addresses")
    func systemResolver() async throws {
        let addresses = try await HostResolver.system.resolve("localhost")
        #expect(!addresses.isEmpty)
        let allInternal = addresses.allSatisfy { $0.isInternal }
        #expect(allInternal)
        await #expect(throws: HostResolver.Failure.self) { try await HostResolver.system.resolve("no-such-host.invalid") }
    }
}
