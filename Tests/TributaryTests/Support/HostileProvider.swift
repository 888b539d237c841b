import Foundation
import Hummingbird
import NIOConcurrencyHelpers

/// A provider at its worst, for the isolation tests: it answers errors that quote the key it was
/// sent (as it is, in base64, inside a Basic header) at great length, 503s, or answers too big.
struct HostileProvider: Sendable {
    let key: String
    private let hits = NIOLockedValueBox<[String: Int]>([:])

    init(key: String) {
        self.key = key
    }

    func hits(_ path: String) -> Int {
        hits.withLockedValue { $0[path, default: 0] }
    }

    /// The message `/echo` answers with: the key three ways, then 5,000 characters more.
    var echoedMessage: String {
        let base64 = Data(key.utf8).base64EncodedString()
        let basic = Data("user:\(key)".utf8).base64EncodedString()
        return "key \(key) is not valid (\(base64)); sent Authorization: Basic \(basic); " + String(repeating: "blah ", count: 1000)
    }

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.get("echo") { _, _ in
            count("/echo")
            let body = (try? JSONSerialization.data(withJSONObject: ["message": echoedMessage])) ?? Data()
            return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("unavailable") { _, _ in
            count("/unavailable")
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "down")))
        }
        router.get("huge") { _, _ in
            count("/huge")
            // 2 MiB of a JSON array of strings: twice what a check accepts, well under what a run does.
            let body = "[" + Array(repeating: "\"" + String(repeating: "x", count: 1022) + "\"", count: 2048).joined(separator: ",") + "]"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return router
    }

    private func count(_ path: String) {
        hits.withLockedValue { $0[path, default: 0] += 1 }
    }
}

/// A TCP port that takes connections (the kernel completes them) and never answers: a provider
/// that hangs. Listening stops at the end of `body`.
func withHangingPort<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("no socket") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw TestSetupError("cannot listen") }
    return try await body(Int(UInt16(bigEndian: address.sin_port)))
}

/// The pids of running `tributary check <integration>` processes.
func checkProcesses(integration: String) -> [Int32] {
    tributaryProcesses(["check", integration])
}

/// The pids of running `tributary` processes whose arguments start with `arguments`.
func tributaryProcesses(_ arguments: [String]) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
        else { return nil }
        let given = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return given.dropFirst().starts(with: arguments) ? pid : nil
    }
}

/// A stand-in for the `tributary` binary: a shell script that ignores its arguments, prints `stdout`
/// and `stderr`, and exits with `status`. Removed at the end of `body`.
func withFakeBinary<T: Sendable>(stdout: String, stderr: String, status: Int32, _ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fake-tributary-\(UUID().uuidString)").path
    let script = "#!/bin/sh\ncat <<'OUT'\n\(stdout)\nOUT\ncat >&2 <<'ERR'\n\(stderr)\nERR\nexit \(status)\n"
    guard FileManager.default.createFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755]) else {
        throw TestSetupError("cannot write \(path)")
    }
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
