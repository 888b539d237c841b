import NIOCore
import NIOPosix

/// One answer of a `ScriptedServer`, as raw bytes on the wire: a status line, headers and body
/// exactly as written, however broken, so a client's handling of hostile answers can be tried.
/// `pieces` go out one after another, `pause` apart (a trickling provider); `holdOpen` leaves the
/// connection open afterwards (a provider that never finishes).
public struct RawAnswer: Sendable {
    public var pieces: [[UInt8]]
    public var pause: Duration
    public var holdOpen: Bool

    public init(_ bytes: [UInt8], pause: Duration = .zero, holdOpen: Bool = false) {
        self.init(pieces: [bytes], pause: pause, holdOpen: holdOpen)
    }

    public init(pieces: [[UInt8]], pause: Duration = .zero, holdOpen: Bool = false) {
        self.pieces = pieces
        self.pause = pause
        self.holdOpen = holdOpen
    }

    /// A well-formed answer with `Content-Length`.
    public static func http(status: Int = 200, headers: [(String, String)] = [], body: [UInt8]) -> RawAnswer {
        var head = "HTTP/1.1 \(status) Scripted\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return RawAnswer(Array((head + "\r\n").utf8) + body)
    }

    public static func json(status: Int = 200, headers: [(String, String)] = [], _ body: String) -> RawAnswer {
        http(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }
}

/// What a `ScriptedServer` answers, in order, and what it was asked.
public actor AnswerScript {
    private var answers: [RawAnswer]
    private var fallback: RawAnswer
    /// The request line of every request, in order ("GET /items?page=2 HTTP/1.1").
    public private(set) var requests: [String] = []

    public init(_ answers: [RawAnswer] = [], fallback: RawAnswer = .json(status: 404, #"{"error":"script ended"}"#)) {
        self.answers = answers
        self.fallback = fallback
    }

    /// Starts over with `answers` (then `fallback`, if given), forgetting the requests seen.
    public func reset(_ answers: [RawAnswer], fallback: RawAnswer? = nil) {
        self.answers = answers
        if let fallback { self.fallback = fallback }
        requests = []
    }

    func next(for requestLine: String) -> RawAnswer {
        requests.append(requestLine)
        return answers.isEmpty ? fallback : answers.removeFirst()
    }
}

/// A TCP server on 127.0.0.1 that reads each request's head and answers the script's next
/// `RawAnswer`, then closes the connection (unless the answer holds it open).
public enum ScriptedServer {
    public static func with<Result: Sendable>(
        _ script: AnswerScript,
        _ body: @Sendable (_ port: Int) async throws -> Result
    ) async throws -> Result {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        guard let port = server.channel.localAddress?.port else { throw FakeServerError.didNotStart }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingDiscardingTaskGroup { connections in
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { try? await serve(connection, script: script) }
                        }
                    }
                }
            }
            defer { group.cancelAll() }
            return try await body(port)
        }
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, script: AnswerScript) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: [UInt8] = []
            let end: [UInt8] = Array("\r\n\r\n".utf8)
            for try await buffer in inbound {
                head += buffer.readableBytesView
                if head.count > 65536 || head.containsRun(end) { break }
            }
            let line = String(decoding: head.prefix { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
            let answer = await script.next(for: line)
            for (index, piece) in answer.pieces.enumerated() {
                if index > 0, answer.pause > .zero { try await Task.sleep(for: answer.pause) }
                try await outbound.write(ByteBuffer(bytes: piece))
            }
            if answer.holdOpen { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func containsRun(_ run: [UInt8]) -> Bool {
        guard count >= run.count else { return false }
        return (0...(count - run.count)).contains { self[$0..<($0 + run.count)].elementsEqual(run) }
    }
}
