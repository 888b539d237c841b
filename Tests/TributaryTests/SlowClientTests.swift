import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A client that opens connections and never finishes a request (slowloris) holds nothing for
/// long: the real server, over a real socket.
@Suite("Slow clients: idle and request-head timeouts")
struct SlowClientTests {
    /// A blocking TCP connection to 127.0.0.1, with a receive timeout.
    final class Socket {
        let fd: Int32

        init(port: Int, receiveTimeout seconds: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestSetupError("socket() failed") }
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw TestSetupError("connect() failed") }
        }

        deinit { close(fd) }

        /// False once the server has closed the connection (or reset it).
        @discardableResult
        func send(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } > 0
        }

        /// What the server sends until it closes the connection; nil when it stayed silent past the timeout.
        func readUntilClosed() -> String? {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count == 0 { return String(decoding: received, as: UTF8.self) }
                if count < 0 { return errno == ECONNRESET ? String(decoding: received, as: UTF8.self) : nil }
                received += buffer[0..<count]
            }
        }
    }

    @Test("a request head trickled byte by byte, and an idle connection, are closed after the idle timeout")
    func slowloris() async throws {
        let (server, port, ready) = try await ChildProcess.startServer(
            try await TestDatabase.create(),
            extra: ["TRIBUTARY_HTTP_IDLE_TIMEOUT_SECONDS": "1"]
        )
        defer { server.terminate() }
        try #require(ready)

        // A head that never ends: a header line every 300 ms, each well within any per-read timeout.
        let trickle = try Socket(port: port, receiveTimeout: 10)
        trickle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let start = ContinuousClock.now
        var open = true
        for index in 0..<30 where open {
            try await Task.sleep(for: .milliseconds(300))
            open = trickle.send("X-Slow-\(index): a\r\n")
        }
        let cutOffAfter = ContinuousClock.now - start
        #expect(!open || trickle.readUntilClosed() != nil)
        #expect(cutOffAfter < .seconds(8), "the trickled head held the connection for \(cutOffAfter)")

        // A connection that sends nothing at all is closed too, without an answer.
        let silent = try Socket(port: port, receiveTimeout: 10)
        let silentStart = ContinuousClock.now
        #expect(silent.readUntilClosed() == "")
        #expect(ContinuousClock.now - silentStart < .seconds(5))

        // Meanwhile, and after, the server answers everyone else.
        #expect(try await httpStatus("http://127.0.0.1:\(port)/healthz") == 200)
    }

    @Test("a body trickled a byte at a time (slow POST), even without a key, is cut off at the request deadline")
    func slowBody() async throws {
        let (server, port, ready) = try await ChildProcess.startServer(
            try await TestDatabase.create(),
            extra: ["TRIBUTARY_HTTP_IDLE_TIMEOUT_SECONDS": "1", "TRIBUTARY_HTTP_REQUEST_TIMEOUT_SECONDS": "2"]
        )
        defer { server.terminate() }
        try #require(ready)

        // Each byte is a body part, and each part restarts the idle timer: only the deadline ends this.
        for head in [
            "Content-Length: 100000",
            "Transfer-Encoding: chunked",
        ] {
            let slow = try Socket(port: port, receiveTimeout: 10)
            slow.send("POST /v1/tenants HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\(head)\r\n\r\n")
            let chunked = head.hasPrefix("Transfer")
            let start = ContinuousClock.now
            var open = true
            for _ in 0..<40 where open {
                try await Task.sleep(for: .milliseconds(300))
                open = slow.send(chunked ? "1\r\n \r\n" : " ")
            }
            let cutOffAfter = ContinuousClock.now - start
            #expect(!open || slow.readUntilClosed() != nil)
            #expect(cutOffAfter < .seconds(8), "a trickled body (\(head)) held the connection for \(cutOffAfter)")
        }

        // Meanwhile, and after, the server answers everyone else.
        #expect(try await httpStatus("http://127.0.0.1:\(port)/healthz") == 200)
    }
}
